import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { siteTable, type SiteFixture } from './fixtures.ts';
import { FileFlash, MemoryFlash, PowerLossError, type FlashMedium } from './flash.ts';
import { SimulatedHub } from './hub.ts';

const T0 = Date.parse('2026-11-02T10:00:00+01:00');
const site: SiteFixture = {
  locks: [{ pk: 1, id: 'front' }, { pk: 2, id: 'back' }],
  groups: [{ pk: 1, locks: [1, 2], schedules: [] }],
  users: [{ pk: 1, groups: [1] }],
  tags: [{ number: 1001, userPk: 1 }],
};
const site2: SiteFixture = { ...site, registered: [5000] };

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const media: Array<[string, () => FlashMedium]> = [
  ['memory', () => new MemoryFlash()],
  [
    'files',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'hub-flash-'));
      dirs.push(dir);
      return new FileFlash(dir);
    },
  ],
];

const ids = (hub: SimulatedHub) => hub.eventsSince(0).map((e) => e.id);

function hubOn(medium: FlashMedium, opts: { ringCapacity?: number } = {}): SimulatedHub {
  return new SimulatedHub({ flash: medium, clock: () => T0, ringCapacity: opts.ringCapacity });
}

describe.each(media)('flash on %s', (_name, make) => {
  it('keeps table, version, keys, paired locks and events across a reboot and a new hub on the same flash', () => {
    const medium = make();
    const hub = hubOn(medium);
    expect(hub.installTable(siteTable(site), { version: 41 })).toMatchObject({ ok: true });
    hub.setKey('scbk', Uint8Array.from([0xde, 0xad]));
    hub.pairLock('garage');
    for (let i = 0; i < 5; i++) hub.presentTag('front', '1001', { at: T0 + i * 1000 });
    const events = hub.eventsSince(0);
    const table = hub.tableInfo();

    hub.reboot();
    expect(hub.tableInfo()).toEqual(table);
    expect(hub.eventsSince(0)).toEqual(events);

    const again = hubOn(medium instanceof FileFlash ? new FileFlash(medium.dir) : medium);
    expect(again.tableInfo()).toMatchObject({ hash: table!.hash, version: 41 });
    expect(again.getKey('scbk')).toEqual(Uint8Array.from([0xde, 0xad]));
    expect(again.lockIds()).toEqual(['front', 'back', 'garage']);
    expect(again.eventsSince(0)).toEqual(events);
    expect(again.bootReport).toEqual({ faults: [], tornLogBytes: 0, completedReset: false });
  });

  it('a torn table write leaves the previous table readable, wherever the power goes', () => {
    const medium = make();
    const hub = hubOn(medium);
    hub.installTable(siteTable(site));
    const old = hub.tableInfo()!.hash;
    const next = siteTable(site2);
    for (const afterBytes of [0, 1, 12, Math.floor(next.length / 2), next.length + 19]) {
      medium.armPowerCut({ op: 'replace', name: 'table.bin', afterBytes });
      expect(() => hub.installTable(next)).toThrow(PowerLossError);
      hub.reboot();
      expect(hub.tableInfo()!.hash, `cut after ${afterBytes} bytes`).toBe(old);
      expect(medium.names().some((n) => n.endsWith('.tmp'))).toBe(false);
    }
    expect(hub.installTable(next)).toMatchObject({ ok: true, changed: true });
  });

  it('a torn event append is dropped at boot; earlier events stay and ids go on from there', () => {
    const medium = make();
    const hub = hubOn(medium);
    hub.installTable(siteTable(site));
    hub.presentTag('front', '1001');
    hub.presentTag('front', '1001');
    const kept = hub.eventsSince(0);
    medium.armPowerCut({ op: 'append', name: 'events.log', afterBytes: 11 });
    expect(() => hub.presentTag('front', '1001')).toThrow(PowerLossError);
    hub.reboot();
    expect(hub.bootReport.tornLogBytes).toBe(11);
    expect(hub.eventsSince(0)).toEqual(kept);
    // The torn event was never readable, so its id is given to the next event; later ones survive a reboot.
    hub.presentTag('front', '1001');
    hub.presentTag('front', '1001');
    hub.reboot();
    expect(hub.bootReport.tornLogBytes).toBe(0);
    expect(ids(hub)).toEqual([1, 2, 3, 4]);
  });

  it('tag_presented events round-trip through the log, the snapshot and a new hub; a torn one is dropped like any event', () => {
    const medium = make();
    const hub = hubOn(medium, { ringCapacity: 256 });
    hub.installTable(siteTable(site));
    const present = (i: number) => {
      hub.setTagRegistration('back', 60);
      const uid = Uint8Array.from([0x04, i & 0xff, (i >> 8) & 0xff, 0xaa, 0xbb, 0xcc, 0xdd]);
      const r = hub.presentTag('back', i % 2 ? uid : { tagNumber: String(9_999_999_000 + i), uid }, { at: T0 + i });
      hub.setTagRegistration('back', 0);
      hub.presentTag('front', '1001', { at: T0 + i });
      return r;
    };
    const first = present(0).events;
    expect(first).toEqual([{ kind: 'tag_presented', id: 1, time: T0, lock_id: 'back', card_uid: '040000AABBCCDD', tag_number: '9999999000' }]);
    hub.reboot();
    expect(hub.eventsSince(0, { limit: 1 })).toEqual(first);

    // Past the compaction threshold: the older events now come back from events.snap.
    for (let i = 1; i < 128; i++) present(i);
    const before = hub.eventsSince(0);
    expect(before).toHaveLength(256);
    expect(before.filter((e) => e.kind === 'tag_presented')).toHaveLength(128);
    expect(medium.read('events.snap')).not.toBeNull();
    hub.reboot();
    expect(hub.eventsSince(0)).toEqual(before);
    expect(hubOn(medium instanceof FileFlash ? new FileFlash(medium.dir) : medium).eventsSince(0)).toEqual(before);

    hub.setTagRegistration('back', 60);
    medium.armPowerCut({ op: 'append', name: 'events.log', afterBytes: 20 });
    expect(() => hub.presentTag('back', Uint8Array.from([9, 9, 9, 9]))).toThrow(PowerLossError);
    hub.reboot();
    expect(hub.bootReport.tornLogBytes).toBe(20);
    expect(hub.eventsSince(0)).toEqual(before);
    // Registration mode was RAM only: after the boot the card is decided again.
    expect(hub.presentTag('back', '1001').events).toMatchObject([{ kind: 'entry', id: 257 }]);
  });

  it('acknowledges cumulatively, refuses acks beyond the last id, and keeps acks across a reboot', () => {
    const hub = hubOn(make());
    hub.installTable(siteTable(site));
    for (let i = 0; i < 6; i++) hub.presentTag('back', '1001', { at: T0 + i });
    expect(hub.ack(3)).toEqual({ ok: true, ackedUpTo: 3, freed: 3 });
    expect(ids(hub)).toEqual([4, 5, 6]);
    expect(hub.eventsSince(4).map((e) => e.id)).toEqual([5, 6]);
    expect(hub.eventsSince(1, { limit: 2 }).map((e) => e.id)).toEqual([4, 5]);
    expect(hub.ack(2)).toEqual({ ok: true, ackedUpTo: 3, freed: 0 });
    expect(hub.ack(7)).toMatchObject({ ok: false, error: 'ack_beyond_head', lastId: 6 });
    expect(ids(hub)).toEqual([4, 5, 6]);
    hub.reboot();
    expect(ids(hub)).toEqual([4, 5, 6]);
    expect(hub.ack(6)).toEqual({ ok: true, ackedUpTo: 6, freed: 3 });
    hub.reboot();
    expect(ids(hub)).toEqual([]);
    expect(hub.presentTag('back', '1001').events[0]!.id).toBe(7);
  });

  it('ids rise one by one across reboots and log compactions; a factory reset starts a new epoch at 1', () => {
    const medium = make();
    const hub = hubOn(medium, { ringCapacity: 100 });
    hub.installTable(siteTable(site));
    const epoch = hub.eventStatus().epoch;
    expect(epoch).toBeGreaterThan(0);
    expect(epoch).toBeLessThan(2 ** 32);
    let last = 0;
    const step = (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = hub.presentTag('front', '1001').events[0]!.id;
        expect(id).toBe(last + 1);
        last = id;
      }
    };
    step(300); // past the compaction threshold (256 frames)
    hub.ack(250);
    hub.reboot();
    step(10);
    expect(hub.eventStatus()).toMatchObject({ epoch, oldestId: 251, newestId: 310, ackedUpTo: 250, stored: 60 });
    hub.factoryReset();
    expect(hub.tableInfo()).toBeNull();
    expect(hub.lockIds()).toEqual([]);
    expect(hub.eventsSince(0)).toEqual([]);
    hub.reboot();
    const fresh = hub.eventStatus();
    expect(fresh).toMatchObject({ oldestId: 1, newestId: 0, stored: 0 });
    expect(fresh.epoch).not.toBe(epoch);
    hub.installTable(siteTable(site));
    last = 0;
    step(3);
    expect(hub.eventStatus()).toMatchObject({ epoch: fresh.epoch, newestId: 3 });
  });

  it('keeps its epoch across reboots; a caller that knows another epoch reads from the oldest event and frees nothing', () => {
    const medium = make();
    const hub = hubOn(medium);
    hub.installTable(siteTable(site));
    for (let i = 0; i < 4; i++) hub.presentTag('front', '1001');
    const { epoch } = hub.eventStatus();
    hub.reboot();
    expect(hubOn(medium instanceof FileFlash ? new FileFlash(medium.dir) : medium).eventStatus().epoch).toBe(epoch);
    expect(hub.ack(2, { epoch: epoch ^ 1 })).toMatchObject({ ok: false, error: 'epoch_mismatch', epoch });
    expect(ids(hub)).toEqual([1, 2, 3, 4]);
    expect(hub.eventsSince(3, { epoch: epoch ^ 1 }).map((e) => e.id)).toEqual([1, 2, 3, 4]);
    expect(hub.eventsSince(3, { epoch }).map((e) => e.id)).toEqual([4]);
    expect(hub.ack(2, { epoch })).toMatchObject({ ok: true, freed: 2 });
  });

  it('a power cut during log compaction loses nothing', () => {
    const medium = make();
    const hub = hubOn(medium, { ringCapacity: 300 });
    hub.installTable(siteTable(site));
    for (let i = 0; i < 299; i++) hub.presentTag('front', '1001');
    const before = hub.eventsSince(0);
    // The 300th frame (the ring's capacity) triggers compaction: snapshot, then empty log — cut in between.
    medium.armPowerCut({ op: 'replace', name: 'events.log', afterBytes: 0 });
    expect(() => hub.presentTag('front', '1001')).toThrow(PowerLossError);
    expect(medium.read('events.snap')).not.toBeNull();
    hub.reboot();
    expect(hub.eventsSince(0).slice(0, 299)).toEqual(before);
    expect(ids(hub)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(hub.presentTag('front', '1001').events[0]!.id).toBe(301);
  });

  it('a factory reset cut short by a power loss is completed at the next boot', () => {
    const medium = make();
    const hub = hubOn(medium);
    hub.installTable(siteTable(site));
    hub.setKey('k', Uint8Array.from([1]));
    hub.presentTag('front', '1001');
    const { epoch } = hub.eventStatus();
    medium.armPowerCut({ op: 'replace', name: 'ring-id.bin', afterBytes: 5, skip: 1 });
    expect(() => hub.factoryReset()).toThrow(PowerLossError);
    hub.reboot();
    expect(hub.bootReport.completedReset).toBe(true);
    expect(hub.eventStatus().epoch).not.toBe(epoch);
    expect(hub.tableInfo()).toBeNull();
    expect(hub.keyNames()).toEqual([]);
    expect(hub.eventStatus()).toMatchObject({ nextId: 1, stored: 0 });
  });
});

describe('ring buffer full', () => {
  it('overwrites the oldest unacknowledged events and says so with a loss marker naming the lost ids', () => {
    const hub = hubOn(new MemoryFlash(), { ringCapacity: 5 });
    hub.installTable(siteTable(site));
    for (let i = 0; i < 8; i++) hub.presentTag('front', '1001', { at: T0 + i * 1000 });
    const all = hub.eventsSince(0);
    expect(all[0]).toMatchObject({ kind: 'events_lost', id: 3, first_id: 1, last_id: 3, count: 3, from_time: T0, until_time: T0 + 2000 });
    expect(all.slice(1).map((e) => e.id)).toEqual([4, 5, 6, 7, 8]);
    expect(hub.eventStatus()).toMatchObject({ stored: 5, oldestId: 4, newestId: 8, lost: { firstId: 1, lastId: 3, count: 3 } });
    // The PC had received 1 and 2 before they were overwritten and acknowledges them.
    hub.ack(2);
    expect(hub.eventsSince(0)[0]).toMatchObject({ kind: 'events_lost', first_id: 3, last_id: 3, count: 1 });
    expect(hub.eventsSince(3).map((e) => e.id)).toEqual([4, 5, 6, 7, 8]);
    hub.reboot();
    expect(hub.eventsSince(0)[0]).toMatchObject({ kind: 'events_lost', first_id: 3, last_id: 3 });
    hub.ack(3);
    expect(hub.eventsSince(0).map((e) => e.kind)).toEqual(['entry', 'entry', 'entry', 'entry', 'entry']);
    expect(hub.presentTag('front', '1001').events[0]!.id).toBe(9);
  });
});

describe('unreadable flash', () => {
  it('boots with what is readable and reports the rest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-flash-'));
    dirs.push(dir);
    const hub = hubOn(new FileFlash(dir));
    hub.installTable(siteTable(site));
    hub.setKey('k', Uint8Array.from([7]));
    const keys = join(dir, 'keys.bin');
    const bytes = readFileSync(keys);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(keys, bytes);
    const table = join(dir, 'table.bin');
    const tb = readFileSync(table);
    tb[40] = tb[40]! ^ 0x01;
    writeFileSync(table, tb);
    const again = hubOn(new FileFlash(dir));
    expect(again.bootReport.faults).toEqual([expect.stringMatching(/^table\.bin: unreadable/), expect.stringMatching(/^keys\.bin: unreadable/)]);
    expect(again.tableInfo()).toBeNull();
    expect(again.keyNames()).toEqual([]);
    expect(again.presentTag('front', '1001').decision).toMatchObject({ granted: false, reason: 'no_table' });
  });

  it('keeps the events of a ring whose identity was lost, under a new epoch', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-flash-'));
    dirs.push(dir);
    const hub = hubOn(new FileFlash(dir));
    hub.installTable(siteTable(site));
    hub.presentTag('front', '1001');
    hub.presentTag('front', '1001');
    const { epoch } = hub.eventStatus();
    rmSync(join(dir, 'ring-id.bin'));
    const again = hubOn(new FileFlash(dir));
    expect(again.bootReport.faults).toEqual([expect.stringMatching(/^ring-id\.bin: no ring identity/)]);
    expect(again.eventStatus().epoch).not.toBe(epoch);
    expect(ids(again)).toEqual([1, 2]);
    expect(again.presentTag('front', '1001').events[0]!.id).toBe(3);
  });
});
