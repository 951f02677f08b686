// Events from a hub to the core, exactly once: the test plays the core (store by event_id, then ack,
// as core/devices/hub-session.ts does) against a hub that keeps producing, over a lossy line, while
// replies, acknowledgements and whole links are lost. Nothing may be missing, nothing stored twice,
// and a re-fetch must bring the same ids. Also the ingest shapes themselves, lock ids from LIST_LOCKS,
// and epochs across a factory reset.
import { describe, expect, it } from 'vitest';
import { IqHubError } from './errors.ts';
import type { IqEventBatch } from './hub-client.ts';
import { rig } from './testing/rig.ts';

/** The core's side: idempotent by event_id, as entries.ingest is by (source, event_id). */
class CoreStore {
  readonly stored = new Map<string, unknown>();
  duplicates = 0;

  ingest(batch: IqEventBatch): void {
    const events = [...batch.entries, ...batch.incidents, ...batch.tags_presented];
    for (const e of events.sort((a, b) => seq(a.event_id) - seq(b.event_id))) {
      const seen = this.stored.get(e.event_id);
      if (seen === undefined) this.stored.set(e.event_id, e);
      else {
        expect(e).toEqual(seen);
        this.duplicates++;
      }
    }
  }
}

const seq = (eventId: string) => Number(eventId.split(':')[1]);

/** Event ids of a batch in id order (entries and incidents travel in separate lists). */
function idsOf(batch: IqEventBatch): string[] {
  return [...batch.entries, ...batch.incidents, ...batch.tags_presented].map((e) => e.event_id).sort((a, b) => seq(a) - seq(b));
}

const LOCKS = ['lock-a', 'lock-b', 'lock-c'];

describe('fetchEvents and ackEvents', () => {
  it('deliver every event exactly once, in order, across lost replies, acks and links', async () => {
    const t = rig({ seed: 11, faults: { dropWrite: 0.1, corrupt: 0.05, duplicate: 0.05, split: true, maxDelayMs: 60 } });
    for (const id of LOCKS) t.hub.pair(id);
    const TOTAL = 400;
    const produce = (n: number) => {
      for (let i = 0; i < n && t.hub.newestId < TOTAL; i++) {
        const at = t.hub.newestId % 3;
        if (t.hub.newestId % 7 === 3) t.hub.record({ kind: 'incident', lock_index: at + 1, incident_type: 'tamper' });
        else t.hub.record({ kind: 'entry', lock_index: at + 1, tag_number: String(1_000_000 + t.hub.newestId).padStart(10, '0') });
      }
    };
    produce(120);
    let fetches = 0;
    let acks = 0;
    let link = await t.connect();
    const lines = [link.line];
    t.hub.afterCommand = (cmd) => {
      if (cmd.type === 'fetch_events' && ++fetches % 3 === 0) produce(17);
      // The reply to this fetch never reaches the host.
      if (cmd.type === 'fetch_events' && fetches === 4) link.line.cut('lost after a fetch');
      // The acknowledgement takes effect but its reply is lost.
      if (cmd.type === 'ack_events' && ++acks === 6) link.line.cut('lost after an ack');
    };

    const store = new CoreStore();
    const failures: string[] = [];
    /** A stored batch whose acknowledgement did not take effect. */
    let unacked: string[] | null = null;
    let sameAgain = 0;
    for (let round = 0; round < 300 && (store.stored.size < TOTAL || t.hub.newestId < TOTAL); round++) {
      if (round === 2) t.hub.failAcks = 1;
      try {
        const batch = await t.run(link.client.fetchEvents(25));
        const ids = idsOf(batch);
        expect(ids.map(seq)).toEqual(ids.map((_, i) => seq(ids[0]!) + i));
        if (unacked) {
          // The hub must hand out the very same ids again.
          expect(ids.slice(0, unacked.length)).toEqual(unacked);
          sameAgain++;
          unacked = null;
        }
        store.ingest(batch);
        if (batch.last_id === null) continue;
        if (round === 9) {
          link.line.cut('lost before the ack');
          unacked = ids;
        }
        await t.run(link.client.ackEvents(batch.last_id)).catch((e: unknown) => {
          if (e instanceof IqHubError && e.details.hubError === 'storage_error') unacked = ids;
          throw e;
        });
      } catch (e) {
        if (!(e instanceof IqHubError)) throw e;
        failures.push(e.code === 'refused' ? `refused ${e.details.hubError}` : e.code);
        if (e.code === 'closed') {
          lines.push(link.line);
          link = await t.connect();
        }
      }
    }

    const epoch = t.hub.epoch.toString(16).padStart(8, '0');
    expect([...store.stored.keys()]).toEqual(Array.from({ length: TOTAL }, (_, i) => `${epoch}:${i + 1}`));
    expect(store.duplicates).toBeGreaterThan(0);
    expect(sameAgain).toBeGreaterThanOrEqual(2);
    expect(failures).toEqual(expect.arrayContaining(['refused storage_error', 'closed']));
    expect(failures.filter((f) => f === 'closed').length).toBeGreaterThanOrEqual(3);
    for (const e of store.stored.values()) expect(LOCKS).toContain((e as { lock_id: string }).lock_id);
    expect(t.hub.acked).toBe(TOTAL);
    // The line did lose replies, which OSDP's resends recovered from the hub's reply cache.
    expect([...lines, link.line].reduce((n, l) => n + l.pd.stats.replays, 0)).toBeGreaterThan(0);
    await link.client.close();
  });

  it("fetches after the hub's acknowledged id: an ack that did not take brings the same batch again", async () => {
    const t = rig();
    t.hub.pair('lock-a');
    const { client } = await t.connect();
    for (let i = 0; i < 30; i++) t.hub.record({ kind: 'entry', lock_index: 1 });
    const ids = (b: IqEventBatch) => b.entries.map((e) => e.event_id);
    const first = await t.run(client.fetchEvents(10));
    // Fetched twice without an ack: the same batch.
    expect(ids(await t.run(client.fetchEvents(10)))).toEqual(ids(first));
    t.hub.failAcks = 1;
    await expect(t.run(client.ackEvents(first.last_id!))).rejects.toThrow(/could not write to its flash storage/);
    expect(ids(await t.run(client.fetchEvents(10)))).toEqual(ids(first));
    await t.run(client.ackEvents(first.last_id!));
    expect((await t.run(client.fetchEvents(10))).entries[0]!.event_id).toBe('deadbeef:11');
    await client.close();
  });

  it('gives the ingest shapes exactly, with lock ids from LIST_LOCKS, read again for a new lock', async () => {
    const t = rig();
    t.hub.pair('lock-a');
    const { client } = await t.connect();
    t.hub.record({ kind: 'entry', lock_index: 1, tag_number: '0000007527' });
    const first = await t.run(client.fetchEvents(64));
    await t.run(client.ackEvents(first.last_id!));
    const lists = t.hub.seen.filter((s) => s === 'list_locks').length;

    t.hub.pair('lock-b');
    t.hub.record({ kind: 'entry', lock_index: 2, tag_number: null, actor: 'anna' });
    t.hub.record({ kind: 'incident', lock_index: 1, incident_type: 'intrusion' });
    t.hub.record({ kind: 'tag_presented', lock_index: 2, card_uid: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) });
    t.hub.record({ kind: 'entry', lock_index: 1, clock_valid: false });
    t.hub.events.at(-1)!.time_ms = 5000;
    const batch = await t.run(client.fetchEvents(64));
    expect(t.hub.seen.filter((s) => s === 'list_locks').length).toBeGreaterThan(lists);

    const at = new Date(t.now()).toISOString();
    expect(batch).toEqual({
      entries: [
        { event_id: 'deadbeef:2', time: at, event_category: 'lock_opened', event_detail: null, access_by: 'tag', lock_id: 'lock-b', tag_number: null, actor_name: 'anna' },
        // The hub's clock was unset: filed at the time it reached us.
        { event_id: 'deadbeef:5', time: at, event_category: 'lock_opened', event_detail: null, access_by: 'tag', lock_id: 'lock-a', tag_number: '0000007527', actor_name: null },
      ],
      incidents: [{ event_id: 'deadbeef:3', time: at, incident_type: 'intrusion', lock_id: 'lock-a' }],
      tags_presented: [{ event_id: 'deadbeef:4', time: at, lock_id: 'lock-b', card_uid: 'DEADBEEF', tag_number: null }],
      last_id: 5,
      more: false,
      lost: 0,
    });
    // Exactly the fields core/audit/ingest.ts accepts.
    const entryKeys = new Set(['event_id', 'time', 'event_category', 'event_detail', 'access_by', 'lock_id', 'iq_id', 'tag_number', 'user_id', 'actor_name']);
    const incidentKeys = new Set(['event_id', 'time', 'incident_type', 'lock_id', 'iq_id']);
    for (const e of batch.entries) for (const k of Object.keys(e)) expect(entryKeys).toContain(k);
    for (const e of batch.incidents) for (const k of Object.keys(e)) expect(incidentKeys).toContain(k);
    await client.close();
  });

  it('says more when the hub holds more than a batch, and nothing when it holds nothing', async () => {
    const t = rig();
    t.hub.pair('lock-a');
    const { client } = await t.connect();
    expect(await t.run(client.fetchEvents(10))).toEqual({ entries: [], incidents: [], tags_presented: [], last_id: null, more: false, lost: 0 });
    for (let i = 0; i < 12; i++) t.hub.record({ kind: 'entry', lock_index: 1 });
    const a = await t.run(client.fetchEvents(10));
    expect([a.last_id, a.more]).toEqual([10, true]);
    await t.run(client.ackEvents(10));
    const b = await t.run(client.fetchEvents(10));
    expect([b.entries.length, b.last_id, b.more]).toEqual([2, 12, false]);
    await client.close();
  });

  it('refuses an event naming a lock the hub does not list', async () => {
    const t = rig();
    const { client } = await t.connect();
    t.hub.record({ kind: 'entry', lock_index: 9 });
    const e = await t.run(client.fetchEvents(10)).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(IqHubError);
    expect((e as IqHubError).code).toBe('unknown_lock');
    expect((e as IqHubError).message).toBe('event deadbeef:1 names lock index 9, which the hub does not list');
    await client.close();
  });

  it('reports and logs events lost to a ring overflow', async () => {
    const t = rig();
    t.hub.pair('lock-a');
    const logs: string[] = [];
    const { client } = await t.connect({ log: (_level, m) => logs.push(m) });
    await t.run(client.identify());
    for (let i = 0; i < 8; i++) t.hub.record({ kind: 'entry', lock_index: 1 });
    t.hub.events.splice(0, 5);
    const batch = await t.run(client.fetchEvents(10));
    expect([batch.last_id, batch.lost]).toEqual([8, 5]);
    expect(logs).toContain("the hub's event ring overflowed: events 1–5 of epoch deadbeef were lost before Gatehouse fetched them");
    await client.close();
  });

  it('keys events of a reset hub by its new epoch, and lets the old ring go', async () => {
    const t = rig();
    t.hub.pair('lock-a');
    const { client, line } = await t.connect();
    t.hub.record({ kind: 'entry', lock_index: 1 });
    const before = await t.run(client.fetchEvents(10));
    expect(before.entries[0]!.event_id).toBe('deadbeef:1');

    await t.run(client.factoryReset());
    expect(t.hub.epoch).not.toBe(0xdeadbeef);
    expect(line.stream.closed).toBe(false);
    // The batch fetched before the reset: its ring is gone, so there is nothing left to acknowledge.
    await t.run(client.ackEvents(before.last_id!));

    t.hub.pair('lock-z');
    t.hub.record({ kind: 'entry', lock_index: 1 });
    const after = await t.run(client.fetchEvents(10));
    const epoch = t.hub.epoch.toString(16).padStart(8, '0');
    expect(after.entries.map((e) => [e.event_id, e.lock_id])).toEqual([[`${epoch}:1`, 'lock-z']]);
    await t.run(client.ackEvents(after.last_id!));
    expect(t.hub.acked).toBe(1);
    await client.close();
  });
});
