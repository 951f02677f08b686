// The simulated hub on the wire: the real host client (drivers/iq/host) over the real USB transport
// (openUsbHub on a fake bus) and over TCP, against the firmware driving a SimulatedHub.
import { afterEach, describe, expect, it } from 'vitest';
import type { IqHubClient } from '../../iq/host/hub-client.ts';
import { siteTable, type SiteFixture } from '../fixtures.ts';
import { MemoryFlash } from '../flash.ts';
import { USER_FLAG } from '../table.ts';
import { eventId } from '../../iq/host/convert.ts';
import { SCBK_KEY } from './firmware.ts';
import { drain, EventStore, KEY, makeFirmware, OTHER_KEY, tcpBench, usbBench } from './testing.ts';

/** Monday 2 November 2026, 10:00 in Amsterdam: inside the fixtures' table window and schedule. */
const T0 = Date.parse('2026-11-02T10:00:00+01:00');

const site: SiteFixture = {
  locks: [
    { pk: 1, id: 'front' },
    { pk: 2, id: 'office' },
  ],
  groups: [{ pk: 1, locks: [1, 2], schedules: [{ pk: 11, mask: 0x1f, start: '07:00:00', end: '19:59:59' }] }],
  users: [
    { pk: 1, flags: USER_FLAG.remoteAccess, groups: [1] },
    { pk: 2, flags: USER_FLAG.blocked, groups: [1] },
  ],
  tags: [
    { number: 1001, userPk: 1 },
    { number: 1002, userPk: 2 },
  ],
};
const TABLE = siteTable(site);
const tableHash = () => Buffer.from(TABLE.subarray(4, 36)).toString('hex');

const clients: IqHubClient[] = [];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const c of cleanups.splice(0)) await c();
});
const keep = (c: IqHubClient) => (clients.push(c), c);

async function pushTable(client: IqHubClient, now: number) {
  await client.setClock({ utc_ms: now, zone: 'Europe/Amsterdam', initial_offset_min: 60, transitions: [] });
  return client.activateTable({ kind: 'full', bytes: TABLE, version: 7, hash: tableHash() });
}

describe('over USB (openUsbHub on the fake bus)', () => {
  it('identifies, takes a table atomically and enforces it at the locks', async () => {
    const fw = makeFirmware({ t0: T0, serial: 'IQ-USB-1' });
    const bench = usbBench(fw);
    const client = keep(await bench.connect());
    expect(bench.usb.device.vendorId).toBe(0x1209);
    expect(bench.usb.device.productId).toBe(0x000c);
    const id = await client.identify();
    expect(id).toMatchObject({ serial: 'IQ-USB-1', firmware: '1.0.0-sim', table: null, mac: '02-00-5E-10-00-01' });

    // No clock yet: the staged table is kept, not activated.
    await expect(client.activateTable({ kind: 'full', bytes: TABLE, version: 7, hash: tableHash() })).rejects.toMatchObject({ code: 'table_refused' });
    expect(fw.hub.tableInfo()).toBeNull();

    const active = await pushTable(client, fw.utcNow());
    expect(active).toEqual({ version: 7, hash: tableHash() });
    expect(fw.hub.tableInfo()).toMatchObject({ hash: tableHash(), version: 7, lockIds: ['front', 'office'] });
    expect(fw.zone).toBe('Europe/Amsterdam');
    // Pushing it again is a no-op on the hub.
    await expect(client.activateTable({ kind: 'full', bytes: TABLE, version: 7, hash: tableHash() })).resolves.toEqual(active);

    expect((await client.listLocks()).map((l) => [l.lock_index, l.lock_id])).toEqual([
      [1, 'front'],
      [2, 'office'],
    ]);
    expect(fw.hub.presentTag('front', '1001').decision).toMatchObject({ granted: true, reason: 'access' });
    expect(fw.hub.presentTag('office', '1002').decision).toMatchObject({ granted: false, reason: 'blocked' });

    const store = new EventStore();
    await drain(client, store);
    const epoch = fw.hub.eventStatus().epoch;
    expect([...store.rows.values()]).toMatchObject([
      { event_id: eventId(epoch, 1), event_category: 'lock_opened', access_by: 'tag', tag_number: '0000001001', lock_id: 'front' },
      { event_id: eventId(epoch, 2), event_category: 'lock_rejected', event_detail: 'blocked', lock_id: 'office' },
    ]);
    expect(fw.hub.eventStatus()).toMatchObject({ ackedUpTo: 2, newestId: 2 });
  });

  it('remote open files an entry by remote with the operator; a repeated confirmation is replayed, not done again', async () => {
    const fw = makeFirmware({ t0: T0 });
    const bench = usbBench(fw);
    const client = keep(await bench.connect());
    await pushTable(client, fw.utcNow());
    const ref = Uint8Array.from({ length: 16 }, (_, i) => i);
    await expect(client.remoteOpen('office', 'anna', ref)).resolves.toMatchObject({ lock_id: 'office', replayed: false, lock_state: 'unlocked' });
    await expect(client.remoteOpen('office', 'anna', ref)).resolves.toMatchObject({ replayed: true });
    // The reference survives a reboot: it is on flash.
    bench.usb.reboot();
    const again = keep(await bench.connect());
    await expect(again.remoteOpen('office', 'anna', ref)).resolves.toMatchObject({ replayed: true });

    await expect(again.setManualOfficeMode('front', true, 'bob', Uint8Array.from({ length: 16 }, () => 7))).resolves.toMatchObject({ office_mode: 'manual_office_mode' });

    const store = new EventStore();
    await drain(again, store);
    const rows = [...store.rows.values()];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ event_category: 'lock_opened', access_by: 'remote', actor_name: 'anna', lock_id: 'office' });
    expect(rows[1]).toMatchObject({ event_category: 'manual_office_mode', event_detail: 'start', access_by: 'remote', actor_name: 'bob', lock_id: 'front' });
  });

  it('a card UID the wire cannot carry is left out of its entry, and the events behind it still flow', async () => {
    const fw = makeFirmware({ t0: T0 });
    const client = keep(await usbBench(fw).connect());
    await pushTable(client, fw.utcNow());
    fw.hub.presentTag('office', Uint8Array.of(1, 2, 3, 4, 5));
    fw.hub.presentTag('office', Uint8Array.of(1, 2, 3, 4));
    const store = new EventStore();
    await drain(client, store);
    const rows = [...store.rows.values()];
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => 'event_category' in r && r.event_category === 'lock_rejected')).toBe(true);
  });

  it('refuses a wrong secure-channel key clearly, and answers nothing of the IQ protocol in plaintext', async () => {
    const fw = makeFirmware({ t0: T0 });
    const bench = usbBench(fw);
    await expect(bench.connect(OTHER_KEY)).rejects.toMatchObject({ code: 'secure_channel' });
    await expect(bench.connect(OTHER_KEY)).rejects.toThrow(/key/i);
    // The right key still works after the refusals.
    const client = keep(await bench.connect(KEY));
    await expect(client.identify()).resolves.toMatchObject({ serial: fw.serial });
  });

  it('KEYSET puts the new key on flash: it survives a reboot, and the old key is refused', async () => {
    const flash = new MemoryFlash();
    const fw = makeFirmware({ t0: T0, flash });
    const bench = usbBench(fw);
    const client = keep(await bench.connect(KEY));
    await client.setKey(OTHER_KEY);
    expect(Buffer.from(fw.hub.getKey(SCBK_KEY)!)).toEqual(Buffer.from(OTHER_KEY));
    await client.close();
    clients.length = 0;
    bench.usb.reboot();
    await expect(bench.connect(KEY)).rejects.toMatchObject({ code: 'secure_channel' });
    const after = keep(await bench.connect(OTHER_KEY));
    await expect(after.identify()).resolves.toMatchObject({ serial: fw.serial });
  });

  it('delivers every event exactly once across 5% drop, 5% corrupt, 1% duplicate, an unplug/replug and a reboot', async () => {
    const fw = makeFirmware({ t0: T0 });
    const bench = usbBench(fw, 42);
    const store = new EventStore();
    let client = keep(await bench.connect());
    await pushTable(client, fw.utcNow());
    bench.usb.setFaults({ drop: 0.05, corrupt: 0.05, duplicate: 0.01 });

    const filed: number[] = [];
    const expected = new Map<number, { lock_id: string; tag_number: string | null; event_category: string }>();
    let retries = 0;
    const present = (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = fw.hub.presentTag(i % 2 ? 'office' : 'front', i % 3 ? '1001' : '1002');
        for (const e of r.events) {
          filed.push(e.id);
          if (e.kind === 'entry') expected.set(e.id, { lock_id: e.lock_id, tag_number: e.tag_number, event_category: e.event_category });
        }
      }
    };
    /** The core's loop with what it does on a lost link: reconnect and go on from the hub's acked id. */
    const drainThrough = async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          if (attempt > 0) {
            await client.close();
            client = keep(await bench.connect());
          }
          await drain(client, store, 2);
          return;
        } catch (e) {
          retries++;
          if (attempt > 20) throw e;
        }
      }
    };

    present(100);
    // Half a batch in, then the cable goes.
    const first = await client.fetchEvents(8);
    store.ingest(first);
    bench.usb.unplug();
    present(50);
    bench.usb.replug();
    await client.close();
    client = keep(await bench.connect());
    await drainThrough();

    present(80);
    const partial = await client.fetchEvents(8);
    store.ingest(partial);
    // Stored, but the hub reboots before the acknowledgement: these come again and are deduped.
    bench.usb.reboot();
    present(70);
    await client.close();
    client = keep(await bench.connect());
    await drainThrough();

    const epoch = fw.hub.eventStatus().epoch;
    expect(filed).toHaveLength(300);
    expect([...store.rows.keys()].sort()).toEqual(filed.map((id) => eventId(epoch, id)).sort());
    expect(store.duplicates).toBeGreaterThanOrEqual(partial.entries.length);
    expect(fw.hub.eventStatus()).toMatchObject({ ackedUpTo: 300, newestId: 300, stored: 0 });
    for (const [id, want] of expected) expect(store.rows.get(eventId(epoch, id))).toMatchObject(want);
    const [up, down] = [bench.usb.toHub.stats, bench.usb.toHost.stats];
    console.info(`exactly once: ${filed.length} events, ${store.duplicates} re-deliveries deduped, ${retries} reconnects after link loss;`, { toHub: up, toHost: down });
    expect(up.dropped + down.dropped).toBeGreaterThanOrEqual(5);
    expect(up.corrupted + down.corrupted).toBeGreaterThanOrEqual(5);
    expect(up.duplicated + down.duplicated).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('a reboot keeps table, pairing, keys and unacknowledged events', async () => {
    const fw = makeFirmware({ t0: T0 });
    const bench = usbBench(fw);
    const client = keep(await bench.connect());
    await pushTable(client, fw.utcNow());
    await client.pairLock({ address: '00-1B-C5-0C-60-09', serial: 'L-9', lock_id: 'garage' });
    fw.hub.presentTag('front', '1001');
    bench.usb.reboot();
    const after = keep(await bench.connect());
    expect((await after.identify()).table).toEqual({ version: 7, hash: tableHash() });
    const locks = await after.listLocks();
    expect(locks.map((l) => [l.lock_id, l.address, l.serial])).toContainEqual(['garage', '00-1B-C5-0C-60-09', 'L-9']);
    const b = await after.fetchEvents(8);
    expect(b.entries).toMatchObject([{ event_category: 'lock_opened', lock_id: 'front' }]);
  });
});

describe('over TCP', () => {
  it('serves the same firmware to connectTcpHub on 127.0.0.1', async () => {
    const fw = makeFirmware({ t0: T0, serial: 'IQ-LAN-7' });
    const bench = await tcpBench(fw);
    cleanups.push(() => bench.server.close());
    expect(bench.server.host).toBe('127.0.0.1');
    const client = keep(await bench.connect());
    expect(await client.identify()).toMatchObject({ serial: 'IQ-LAN-7', table: null });
    await pushTable(client, fw.utcNow());
    fw.hub.presentTag('office', '1001');
    await expect(client.remoteOpen('front', 'carla', new Uint8Array(16).fill(3))).resolves.toMatchObject({ replayed: false });
    const store = new EventStore();
    await drain(client, store);
    expect([...store.rows.values()]).toMatchObject([
      { event_category: 'lock_opened', access_by: 'tag', lock_id: 'office' },
      { event_category: 'lock_opened', access_by: 'remote', actor_name: 'carla', lock_id: 'front' },
    ]);
  });

  it('refuses a wrong key over TCP too', async () => {
    const bench = await tcpBench(makeFirmware({ t0: T0 }));
    cleanups.push(() => bench.server.close());
    await expect(bench.connect(OTHER_KEY)).rejects.toMatchObject({ code: 'secure_channel' });
  });
});

describe('tag registration (TAG_REGISTRATION → tag_presented → tags_presented)', () => {
  const statusOf = async (client: IqHubClient, lockId: string) => (await client.lockStatuses()).find((l) => l.lock_id === lockId);

  it('over USB: presented cards are filed, not decided, survive a reboot and arrive as tags_presented', async () => {
    // An RTC that stands still unless the test moves it: event times are exact.
    const rtc = { now: T0 };
    const fw = makeFirmware({ t0: T0, now: () => rtc.now });
    const bench = usbBench(fw);
    const client = keep(await bench.connect());
    await pushTable(client, fw.utcNow());

    await expect(client.startTagRegistration('front', 60)).resolves.toEqual({ lock_id: 'front', remaining_s: 60 });
    expect(await statusOf(client, 'front')).toMatchObject({ tag_registration: true });
    expect(await statusOf(client, 'office')).toMatchObject({ tag_registration: false });

    const known = fw.hub.presentTag('front', { tagNumber: '5000', uid: Uint8Array.of(0x04, 0x5e, 0x21, 0x9a, 0x3b, 0x70, 0x80) });
    expect(known).toMatchObject({ outcome: 'registration', decision: { granted: false, reason: 'tag_registration' }, registered: { card_uid: '045E219A3B7080', tag_number: '0000005000' } });
    expect(known.events).toHaveLength(1);
    // A tag that would open the door does not open it while the lock registers.
    const granted = fw.hub.presentTag('front', Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
    expect(granted.events).toMatchObject([{ kind: 'tag_presented', card_uid: 'DEADBEEF', tag_number: null }]);
    expect(fw.hub.lockStatus('front').locked_state).toBe('locked');

    // The events are on flash before the host fetched them; the mode itself was RAM only.
    bench.usb.reboot();
    const again = keep(await bench.connect());
    expect(await statusOf(again, 'front')).toMatchObject({ tag_registration: false });
    const batch = await again.fetchEvents(16);
    const epoch = fw.hub.eventStatus().epoch;
    const time = new Date(T0).toISOString();
    expect(batch).toMatchObject({ entries: [], incidents: [], last_id: 2, more: false });
    expect(batch.tags_presented).toEqual([
      { event_id: eventId(epoch, 1), time, lock_id: 'front', card_uid: '045E219A3B7080', tag_number: '0000005000' },
      { event_id: eventId(epoch, 2), time, lock_id: 'front', card_uid: 'DEADBEEF', tag_number: null },
    ]);
    await again.ackEvents(batch.last_id!);
    expect(fw.hub.eventStatus()).toMatchObject({ ackedUpTo: 2, newestId: 2, stored: 0 });

    // The mode is over: the same lock decides again.
    expect(fw.hub.presentTag('front', '1001')).toMatchObject({ outcome: 'decided', decision: { granted: true } });
    const next = await again.fetchEvents(16);
    expect(next).toMatchObject({ tags_presented: [], entries: [{ event_id: eventId(epoch, 3), event_category: 'lock_opened', lock_id: 'front' }] });
  });

  it('over TCP: the mode ends at its timeout on the RTC or when stopped with 0; then cards are decided again', async () => {
    const rtc = { now: T0 };
    const fw = makeFirmware({ t0: T0, now: () => rtc.now });
    const bench = await tcpBench(fw);
    cleanups.push(() => bench.server.close());
    const client = keep(await bench.connect());
    await pushTable(client, fw.utcNow());

    await client.startTagRegistration('office', 15);
    expect(fw.hub.presentTag('office', '1001').outcome).toBe('registration');
    rtc.now += 10_000;
    // A second card in the same mode; a repeat of the command restarts the same timeout.
    expect(fw.hub.presentTag('office', '1002').outcome).toBe('registration');
    await expect(client.startTagRegistration('office', 15)).resolves.toMatchObject({ remaining_s: 15 });
    rtc.now += 14_000;
    expect(await statusOf(client, 'office')).toMatchObject({ tag_registration: true });
    rtc.now += 1_000;
    expect(await statusOf(client, 'office')).toMatchObject({ tag_registration: false });
    expect(fw.hub.presentTag('office', '1001')).toMatchObject({ outcome: 'decided', decision: { granted: true } });

    await client.startTagRegistration('office', 3600);
    expect(fw.hub.presentTag('office', '1001').outcome).toBe('registration');
    await expect(client.startTagRegistration('office', 0)).resolves.toMatchObject({ remaining_s: 0 });
    expect(fw.hub.presentTag('office', '1002')).toMatchObject({ outcome: 'decided', decision: { granted: false, reason: 'blocked' } });

    const batch = await client.fetchEvents(16);
    expect(batch.tags_presented.map((t) => [t.lock_id, t.tag_number])).toEqual([
      ['office', '0000001001'],
      ['office', '0000001002'],
      ['office', '0000001001'],
    ]);
    // A card presented by number alone reads with a stable UID (the simulator's, the table holding none).
    expect(batch.tags_presented[0]!.card_uid).toBe('474800000003E9');
    expect(batch.entries.map((e) => [e.event_category, e.event_detail])).toEqual([
      ['lock_opened', null],
      ['lock_rejected', 'blocked'],
    ]);
  });
});
