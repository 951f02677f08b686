// Card credentials end to end: a real core service with the master key, a site card key, and a
// simulated hub on the fake USB bus driven by the real host client. The hub is given the site key over
// its secure channel (SET_SITE_KEY), and from then on its lock opens for a genuine card only: a card
// with the right UID but a blank, forged or altered credential sector is refused, and the refusal is in
// the core's audit trail. A rebooted hub still holds the key. The demo's simulated hubs get the key the
// same way, through the protocol.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHubs } from '../../bin/hubs.ts';
import { DeviceManager } from '../../core/devices/device-manager.ts';
import { ensureSite } from '../../core/host/first-run.ts';
import { startHost } from '../../core/host/host.ts';
import { givenMasterKey } from '../../core/secrets/master-key.ts';
import { SecretBox } from '../../core/secrets/secret-box.ts';
import { SiteKeys } from '../../core/secrets/site-keys.ts';
import { systemActor } from '../../core/service/actor.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase } from '../../core/store/db.ts';
import { SLOTS } from '../../drivers/hub-sim/flash.ts';
import { makeFirmware, usbBench } from '../../drivers/hub-sim/firmware/testing.ts';
import { eraseWrites, issueWrites, sectorAfter } from '../../drivers/mifare/credential.ts';
import { FakeUsbBus } from '../../drivers/transport/fake-webusb.ts';
import { until } from '../until.ts';

const actor = systemActor('installer');
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const UID = '04A1B2C3';
const TAG = '0000004242';

describe('card credentials at a hub that got the site key from the core', () => {
  it('opens for a genuine card, refuses cloned, forged and altered ones into the audit trail, and keeps the key through a reboot', async () => {
    const db = openDatabase(':memory:');
    cleanup.push(() => db.close());
    ensureSite(db, { name: 'Annex', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery', now: Date.now() });
    const lines: string[] = [];
    const svc = new GatehouseService(db, { log: (level, m) => void lines.push(`[${level}] ${m}`) });
    svc.secrets = new SecretBox(new Uint8Array(randomBytes(32)));
    const manager = new DeviceManager(svc, { eventBatch: 200, pollMs: 200, retryMs: 50, maxRetryMs: 500 });
    cleanup.push(() => manager.close());
    const firmware = makeFirmware({ t0: Date.now(), mac: Uint8Array.of(0x02, 0x00, 0x5e, 0x10, 0x00, 0x98), serial: 'IQ-ANNEX-2' });
    const bench = usbBench(firmware);
    const client = await bench.connect();
    cleanup.push(() => client.close());
    manager.attach(client);
    await until('the hub listed as unclaimed', () => svc.run(actor, 'hubs.list', {}).some((h) => h.state === 'unclaimed'));
    const iq = svc.run(actor, 'hubs.claim', { address: client.address, customer_reference: 'Annex IQ', time_zone: 'Europe/Amsterdam' });

    // The site's card key, as the encoder makes it for the first card.
    const siteKey = new SiteKeys(svc.db, svc.secrets, svc.now).currentOrCreate();
    await until("the hub holding the site's card key", () => firmware.siteKeyFingerprint === siteKey.fingerprint);

    // Anna's card, issued once (issue counter 1, as the encoder records it), allowed at the door.
    const door = svc.run(actor, 'locks.create', { customer_reference: 'Annex door', mac: '00-11-22-33-44-66' });
    const group = svc.run(actor, 'access_groups.create', { customer_reference: 'Annex staff', lock_ids: [door.id] });
    const anna = svc.run(actor, 'users.create', { first_name: 'Anna', last_name: 'Smit', access_group_ids: [group.id] });
    const tag = svc.run(actor, 'tags.create', { tag_number: TAG, card_uid: UID, user_id: anna.id });
    svc.db.transaction((w) => w.prepare('UPDATE tags SET issue_counter = 1 WHERE id = ?').run(tag.id));
    svc.engine.reload();
    await svc.runAsync(actor, 'hubs.locks.pair', { iq_id: iq.id, lock_id: door.id });
    await until('the table with the door active on the hub', () => firmware.hub.tableInfo()?.hash === svc.engine.table(iq.id)!.hash);

    const uid = Uint8Array.from(Buffer.from(UID, 'hex'));
    const issued = (key: Uint8Array, issueCounter = 1) => sectorAfter(issueWrites(key, uid, { siteId: siteKey.site_id, tagNumber: TAG, issueCounter }));
    const present = (sector: Uint8Array) => firmware.hub.presentTag(door.id, { uid, sector });
    const rejected = () => svc.run(actor, 'entries.list', { lock_id: door.id, event_category: 'lock_rejected', with_count: true });

    // (a) The genuine card opens.
    expect(present(issued(siteKey.key)).decision).toMatchObject({ granted: true, tagNumber: TAG });
    await until('the opening in the audit trail', () => svc.run(actor, 'entries.list', { lock_id: door.id, event_category: 'lock_opened', with_count: true }).count === 1);

    // (b) A clone: the same UID on a blank card, (c) a sector made under another site's key, an altered
    // one, and an older issue. Each is refused at the lock with its reason, and lands in the trail.
    const forged = issued(siteKey.key);
    forged[20]! ^= 0x01; // a digit of the tag number
    const attempts: Array<[string, Uint8Array, string]> = [
      ['a cloned UID on a blank card', sectorAfter(eraseWrites()), 'credential_missing'],
      ['a sector made with another site key', issued(new Uint8Array(randomBytes(16))), 'credential_missing'],
      ['an altered sector', forged, 'credential_forged'],
      ['an issue older than the tag’s', issued(siteKey.key, 0), 'credential_stale'],
    ];
    for (const [i, [what, sector, reason]] of attempts.entries()) {
      const r = present(sector);
      expect(r.decision, what).toMatchObject({ granted: false, reason: 'invalid_credential', cause: reason });
      expect(r.events.find((e) => e.kind === 'entry'), what).toMatchObject({ event_category: 'lock_rejected', event_detail: 'invalid_credential', hub_reason: reason });
      await until(`${what} in the audit trail`, () => rejected().count === i + 1);
    }
    // The core files what the wire carries: a refusal of its own kind (not an unknown tag: the UID is
    // Anna's), the card's tag and its holder. The finer cause stays in the hub (hub_reason above).
    expect(rejected().items.map((e) => [e.event_detail, e.access_by, e.tag_number, e.user_id])).toEqual(attempts.map(() => ['invalid_credential', 'tag', TAG, anna.id]));
    expect(svc.run(actor, 'entries.list', { event_detail: 'invalid_credential', with_count: true }).count).toBe(attempts.length);

    // (d) A power cycle: the hub boots from flash with the key, and the host finds nothing to send.
    bench.usb.reboot();
    expect(firmware.siteKeyFingerprint).toBe(siteKey.fingerprint);
    await until('the IQ offline', () => !svc.run(actor, 'iqs.get', { id: iq.id }).online);
    const again = await bench.connect();
    cleanup.push(() => again.close());
    const sent = vi.spyOn(again, 'setSiteKey');
    const asked = vi.spyOn(again, 'siteKeyFingerprint');
    manager.attach(again);
    await until('the hub in step again', () => svc.run(actor, 'hubs.list', {}).some((h) => h.state === 'ready' && h.iq_id === iq.id));
    await until('the host to have read which key the hub holds', () => asked.mock.calls.length > 0);
    expect(sent).not.toHaveBeenCalled();
    expect(present(issued(siteKey.key)).decision).toMatchObject({ granted: true });
    expect(present(sectorAfter(eraseWrites())).decision).toMatchObject({ granted: false, cause: 'credential_missing' });

    // Given once, logged once, and the key itself never in the log.
    expect(lines.filter((l) => l.includes("holds the site's card key now"))).toEqual([
      `[info] hub usb:sim (IQ 'Annex IQ'): holds the site's card key now (generation 1, fingerprint ${siteKey.fingerprint}); its locks check card credentials`,
    ]);
    expect(lines.join('\n').toLowerCase()).not.toContain(Buffer.from(siteKey.key).toString('hex'));
  });
});

describe('the demo', () => {
  it("gives every simulated hub the site's card key over its secure channel", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-card-key-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const noUsb = () => {
      const bus = new FakeUsbBus();
      bus.failEnumeration(new Error('getDevices error: /sys/bus/usb/devices/ not found (errno 2)'));
      return Promise.resolve(bus);
    };
    const lines: string[] = [];
    const hubs = createHubs({ dataDir: dir, log: (l) => void lines.push(l), simulated: true, usb: { load: noUsb }, pollIntervalMs: 200 });
    cleanup.push(() => hubs.close());
    const host = await startHost({
      dataDir: dir,
      port: 0,
      host: '127.0.0.1',
      demo: true,
      ownerPassword: 'correct horse battery',
      version: 'test',
      log: (l) => void lines.push(l),
      hubs: hubs.attach,
      masterKey: givenMasterKey(new Uint8Array(randomBytes(32)), 'test'),
    });
    cleanup.push(() => host.close());
    const svc = host.service;
    await until('the three demo hubs in step', () => host.hubs().filter((h) => h.state === 'ready' && h.iq_id).length === 3, 10_000);

    const siteKey = new SiteKeys(svc.db, svc.secrets!, svc.now).currentOrCreate();
    const sim = hubs.simulated!;
    await until('every demo hub holding the key', () => sim.hubs.every((h) => h.firmware.siteKeyFingerprint === siteKey.fingerprint), 10_000);
    // On each hub's own flash, put there by SET_SITE_KEY: nothing handed the simulator the key directly.
    for (const h of sim.hubs) expect(h.firmware.hub.medium.names()).toContain(SLOTS.siteKey);
  });
});
