// Tables onto a hub: a full table and then a diff become active with the right hash, fragments sized
// from the hub's PDCAP, a transfer cut mid-way resumes from the staged offset with a new client, and a
// file the hub refuses leaves the previous table in force with an error that names the outcome.
import { describe, expect, it } from 'vitest';
import { maxFragmentSize } from '../file-transfer.ts';
import { IqHubError } from './errors.ts';
import type { IqHubClient, IqTablePush } from './hub-client.ts';
import { rig, T0 } from './testing/rig.ts';
import { changed, sampleRecords, serializeDiff, serializeTable, tableHash, type Records } from './testing/tables.ts';

const full = (records: Records, version: number): IqTablePush => ({ kind: 'full', bytes: serializeTable(records), version, hash: tableHash(records) });
const diff = (from: Records, to: Records, version: number): IqTablePush => ({ kind: 'diff', bytes: serializeDiff(from, to), version, hash: tableHash(to) });

async function failure(p: Promise<unknown>): Promise<IqHubError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof IqHubError)) throw new Error(`expected an IqHubError, got ${String(e)}`);
  return e;
}

async function ready(t: ReturnType<typeof rig>, client: IqHubClient): Promise<void> {
  await t.run(client.setClock({ utc_ms: T0, zone: 'Europe/Amsterdam', initial_offset_min: 60, transitions: [] }));
}

describe('activateTable', () => {
  it('makes a full table and then a diff active, in fragments sized from PDCAP', async () => {
    const t = rig({ hub: { receiveSize: 512 } });
    const { client } = await t.connect();
    await ready(t, client);
    const v1 = sampleRecords(t.rng, 300);
    const push1 = full(v1, 1);
    expect(await t.run(client.activateTable(push1))).toEqual({ version: 1, hash: tableHash(v1) });

    const size = maxFragmentSize(512, true);
    expect(t.hub.fragments.length).toBe(Math.ceil(push1.bytes.length / size));
    expect(t.hub.fragments.slice(0, -1).every((f) => f.size === size)).toBe(true);
    expect(t.hub.fragments.map((f) => f.offset)).toEqual(t.hub.fragments.map((_, i) => i * size));
    expect(t.hub.seen.filter((s) => s === 'cap')).toHaveLength(1);

    const v2 = changed(t.rng, v1);
    const push2 = diff(v1, v2, 2);
    expect(push2.bytes.length).toBeLessThan(push1.bytes.length / 10);
    expect(await t.run(client.activateTable(push2))).toEqual({ version: 2, hash: tableHash(v2) });
    expect(t.hub.enforced!.records).toEqual(v2);
    expect((await t.run(client.identify())).table).toEqual({ version: 2, hash: tableHash(v2) });
    await client.close();
  });

  it('does the same over a line that drops, corrupts and duplicates', async () => {
    const t = rig({ seed: 7, faults: { dropWrite: 0.08, corrupt: 0.05, duplicate: 0.05, split: true, maxDelayMs: 40 } });
    const { client, line } = await t.connect();
    await ready(t, client);
    const v1 = sampleRecords(t.rng, 200);
    const v2 = changed(t.rng, v1);
    expect((await t.run(client.activateTable(full(v1, 1)))).hash).toBe(tableHash(v1));
    expect((await t.run(client.activateTable(diff(v1, v2, 2)))).hash).toBe(tableHash(v2));
    expect(t.hub.enforced!.records).toEqual(v2);
    expect(line.stream.closed).toBe(false);
    expect(line.pd.stats.replays).toBeGreaterThan(0);
    await client.close();
  });

  it('resumes a transfer cut mid-way from the staged offset, with a new client', async () => {
    const t = rig({ hub: { receiveSize: 512 } });
    const first = await t.connect();
    await ready(t, first.client);
    const table = sampleRecords(t.rng, 400);
    const push = full(table, 5);
    const size = maxFragmentSize(512, true);
    t.hub.afterFragment = (ft) => {
      if (ft.offset === 10 * size) first.line.cut();
    };
    const cut = await failure(t.run(first.client.activateTable(push)));
    expect(cut.code).toBe('closed');
    expect(t.hub.staged!.received).toBe(11 * size);
    expect(t.hub.enforced).toBeNull();

    t.hub.afterFragment = null;
    t.hub.fragments.length = 0;
    const logs: string[] = [];
    const second = await t.connect({ log: (_level, m) => logs.push(m) });
    expect(await t.run(second.client.activateTable(push))).toEqual({ version: 5, hash: tableHash(table) });
    expect(logs).toContain(`resumed the table transfer at byte ${11 * size} of ${push.bytes.length}`);
    expect(t.hub.fragments[0]!.offset).toBe(11 * size);
    expect(t.hub.fragments.reduce((n, f) => n + f.size, 0)).toBe(push.bytes.length - 11 * size);
    await second.client.close();
  });

  it('starts over when the staged prefix belongs to another file of the same size', async () => {
    const t = rig({ hub: { receiveSize: 512 } });
    const first = await t.connect();
    await ready(t, first.client);
    const a = sampleRecords(t.rng, 200);
    const pushA = full(a, 1);
    t.hub.afterFragment = (ft) => {
      if (ft.offset > 2000) first.line.cut();
    };
    await failure(t.run(first.client.activateTable(pushA)));
    // The core compiled another table meanwhile; same length, other bytes.
    const bytesB = pushA.bytes.slice();
    const b = new Map(a);
    const key = [...b.keys()].find((k) => k.startsWith('U'))!;
    const rec = b.get(key)!.slice();
    rec[rec.length - 1] = rec[rec.length - 1]! ^ 0x55;
    b.set(key, rec);
    bytesB.set(serializeTable(b));
    expect(bytesB.length).toBe(pushA.bytes.length);

    t.hub.afterFragment = null;
    t.hub.fragments.length = 0;
    const second = await t.connect();
    expect((await t.run(second.client.activateTable({ kind: 'full', bytes: bytesB, version: 2, hash: tableHash(b) }))).hash).toBe(tableHash(b));
    expect(t.hub.fragments[0]!.offset).toBe(0);
    await second.client.close();
  });

  it('goes straight to activation when the whole file is already staged', async () => {
    const t = rig();
    const first = await t.connect();
    const table = sampleRecords(t.rng, 100);
    const push = full(table, 3);
    // Not valid now (no clock): the hub keeps the staged file.
    expect((await failure(t.run(first.client.activateTable(push)))).details.outcome).toBe('not_valid_now');
    t.hub.fragments.length = 0;
    await ready(t, first.client);
    expect((await t.run(first.client.activateTable(push))).version).toBe(3);
    expect(t.hub.fragments).toEqual([]);
    await first.client.close();
  });

  it('sends the file once more when the staged file is gone at activation, and no more than once', async () => {
    const t = rig();
    const { client } = await t.connect();
    await ready(t, client);
    const table = sampleRecords(t.rng, 50);
    let drops = 1;
    // The staged file is gone once complete (another host started a file), in the next `drops` transfers.
    const dropWhenComplete = () => {
      if (t.hub.staged && t.hub.staged.received === t.hub.staged.total) t.hub.staged = null;
    };
    t.hub.afterCommand = (cmd) => {
      if (cmd.type === 'file_status') t.hub.afterFragment = drops-- > 0 ? dropWhenComplete : null;
    };
    expect((await t.run(client.activateTable(full(table, 1)))).hash).toBe(tableHash(table));
    expect(t.hub.seen.filter((s) => s === 'activate_table')).toHaveLength(2);

    drops = 2;
    const next = changed(t.rng, table);
    const e = await failure(t.run(client.activateTable(full(next, 2))));
    expect(e.details.outcome).toBe('no_file');
    expect(e.message).toMatch(/nothing of that kind was staged/);
    await client.close();
  });

  it('waits out a hub that is still writing, with idle fragments', async () => {
    const t = rig();
    const { client } = await t.connect();
    await ready(t, client);
    t.hub.finishing = 3;
    const table = sampleRecords(t.rng, 50);
    expect((await t.run(client.activateTable(full(table, 1)))).hash).toBe(tableHash(table));
    expect(t.hub.finishing).toBe(0);
    await client.close();
  });

  it('holds other commands back while a hub that cannot interleave is between fragments', async () => {
    const t = rig({ hub: { receiveSize: 256 } });
    t.hub.pair('lock-1');
    const { client } = await t.connect();
    await ready(t, client);
    t.hub.interleave = false;
    t.hub.record({ kind: 'entry', lock_index: 1 });
    const table = sampleRecords(t.rng, 100);
    t.hub.seen.length = 0;
    const transfer = client.activateTable(full(table, 1));
    const fetch = client.fetchEvents(10);
    const [active, batch] = await t.run(Promise.all([transfer, fetch]));
    expect(active.hash).toBe(tableHash(table));
    expect(batch.entries).toHaveLength(1);
    const seen = t.hub.seen.filter((s) => s !== 'cap');
    const firstFt = seen.indexOf('ft');
    const lastFt = seen.lastIndexOf('ft');
    expect(seen.slice(firstFt, lastFt + 1).every((s) => s === 'ft')).toBe(true);
    expect(seen.indexOf('fetch_events')).toBeGreaterThan(lastFt);
    await client.close();
  });
});

describe('refusals', () => {
  it('refuses a corrupted table, keeps the previous one, and says why', async () => {
    const t = rig();
    const { client } = await t.connect();
    await ready(t, client);
    const v1 = sampleRecords(t.rng, 100);
    await t.run(client.activateTable(full(v1, 1)));

    const v2 = changed(t.rng, v1);
    const bytes = serializeTable(v2);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x01;
    const e = await failure(t.run(client.activateTable({ kind: 'full', bytes, version: 2, hash: tableHash(v2) })));
    expect(e.code).toBe('table_refused');
    expect(e.details.outcome).toBe('malformed');
    expect(e.message).toMatch(/^the hub refused the table: the file is malformed/);
    expect(e.message).toContain(`still enforces version 1 (${tableHash(v1).slice(0, 12)}`);
    expect(e.details.enforced).toEqual({ version: 1, hash: tableHash(v1) });
    expect((await t.run(client.identify())).table).toEqual({ version: 1, hash: tableHash(v1) });
    await client.close();
  });

  it('refuses a diff made for another table than the one in force', async () => {
    const t = rig();
    const { client } = await t.connect();
    await ready(t, client);
    const v1 = sampleRecords(t.rng, 100);
    const other = changed(t.rng, v1);
    await t.run(client.activateTable(full(v1, 1)));
    const e = await failure(t.run(client.activateTable(diff(other, changed(t.rng, other), 3))));
    expect(e.details.outcome).toBe('base_mismatch');
    expect(e.message).toMatch(/the diff was made for another version/);
    expect(t.hub.enforced!.hash).toBe(tableHash(v1));
    await client.close();
  });

  it('refuses, before sending anything, a push whose file leads to another hash', async () => {
    const t = rig();
    const { client } = await t.connect();
    const v1 = sampleRecords(t.rng, 20);
    const push = full(v1, 1);
    const wrongHash = await failure(client.activateTable({ ...push, hash: tableHash(changed(t.rng, v1)) }));
    expect(wrongHash.code).toBe('invalid_input');
    expect(wrongHash.message).toMatch(/the file leads to table/);
    const wrongKind = await failure(client.activateTable({ ...push, kind: 'diff' }));
    expect(wrongKind.message).toMatch(/needs a GHAD diff/);
    expect(t.hub.seen.filter((s) => s !== 'poll')).toEqual([]);
    await client.close();
  });

  it('refuses a file larger than the hub can stage', async () => {
    const t = rig({ hub: { maxFileSize: 1000 } });
    const { client } = await t.connect();
    const e = await failure(t.run(client.activateTable(full(sampleRecords(t.rng, 100), 1))));
    expect(e.code).toBe('transfer_failed');
    expect(e.message).toMatch(/larger than the hub can stage \(1000 bytes\)/);
    expect(t.hub.fragments).toEqual([]);
    await client.close();
  });
});
