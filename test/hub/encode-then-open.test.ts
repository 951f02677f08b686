// The front desk's promise, end to end: a blank card laid on the (simulated) encoder and encoded for a
// person opens that person's door at a (simulated) hub's lock, and nothing else does. Everything is
// the real path but the radio: the core (EncoderManager, access engine, DeviceManager), the encoder
// driver over CCID and WebUSB transfers to the ACR122U simulator, the host client over OSDP to the
// hub firmware, which got the site key from the core. The card the lock reads is the very virtual card
// the encoder wrote. Then the card is reported lost and re-issued onto another card: the old one is
// refused, the new one opens; a copy of the card's UID on a blank card never opens.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createEncoders } from '../../bin/encoders.ts';
import { DeviceManager } from '../../core/devices/device-manager.ts';
import { ensureSite } from '../../core/host/first-run.ts';
import { SecretBox } from '../../core/secrets/secret-box.ts';
import { systemActor } from '../../core/service/actor.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase } from '../../core/store/db.ts';
import { MifareClassicCard } from '../../drivers/encoder-sim/cards.ts';
import { makeFirmware, usbBench } from '../../drivers/hub-sim/firmware/testing.ts';
import { FakeUsbBus } from '../../drivers/transport/fake-webusb.ts';
import { until } from '../until.ts';

const actor = systemActor('front desk');
const ENCODER = 'sim:demo-encoder-1';
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const noUsb = () => {
  const bus = new FakeUsbBus();
  bus.failEnumeration(new Error('getDevices error: no USB here'));
  return Promise.resolve(bus);
};

describe('a card encoded at the desk, at the door', () => {
  it('opens the door of its holder only, and a lost card stops opening once its tag is re-issued', async () => {
    const db = openDatabase(':memory:');
    cleanup.push(() => db.close());
    ensureSite(db, { name: 'Annex', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery', now: Date.now() });
    const svc = new GatehouseService(db);
    svc.secrets = new SecretBox(new Uint8Array(randomBytes(32)));

    // The hub, claimed, with two doors; Anna may use the first only.
    const manager = new DeviceManager(svc, { eventBatch: 200, pollMs: 200, retryMs: 50, maxRetryMs: 500 });
    cleanup.push(() => manager.close());
    const firmware = makeFirmware({ t0: Date.now(), mac: Uint8Array.of(0x02, 0x00, 0x5e, 0x10, 0x00, 0x97), serial: 'IQ-ANNEX-3' });
    const client = await usbBench(firmware).connect();
    cleanup.push(() => client.close());
    manager.attach(client);
    await until('the hub listed', () => svc.run(actor, 'hubs.list', {}).some((h) => h.state === 'unclaimed'));
    const iq = svc.run(actor, 'hubs.claim', { address: client.address, customer_reference: 'Annex IQ', time_zone: 'Europe/Amsterdam' });
    await until('the hub bound to its IQ', () => svc.run(actor, 'hubs.list', {}).some((h) => h.iq_id === iq.id && h.state === 'ready'));
    const office = svc.run(actor, 'locks.create', { customer_reference: 'Office', mac: '00-11-22-33-44-01' });
    const server = svc.run(actor, 'locks.create', { customer_reference: 'Server room', mac: '00-11-22-33-44-02' });
    const group = svc.run(actor, 'access_groups.create', { customer_reference: 'Office staff', lock_ids: [office.id] });
    const anna = svc.run(actor, 'users.create', { first_name: 'Anna', last_name: 'Smit', access_group_ids: [group.id] });
    for (const door of [office, server]) await svc.runAsync(actor, 'hubs.locks.pair', { iq_id: iq.id, lock_id: door.id });

    // The desk: the demo's simulated encoder with its tray (the site key is made for it here).
    const encoders = createEncoders({ log: () => {}, simulated: true, usb: { load: noUsb } });
    cleanup.push(() => encoders.close());
    const stop = encoders.attach(svc);
    cleanup.push(() => stop?.());
    await until('the encoder', () => svc.run(actor, 'encoders.list', {}).encoders.length === 1);
    const { fingerprint } = svc.run(actor, 'site.key', {})!;
    await until("the hub holding the site's card key", () => firmware.siteKeyFingerprint === fingerprint);

    const encode = async (cardId: string, tagId?: string) => {
      svc.run(actor, 'encoders.tray.place', { card_id: cardId, encoder_id: ENCODER });
      const r = await svc.runAsync(actor, 'encoders.encode', { encoder_id: ENCODER, user_id: anna.id, ...(tagId ? { tag_id: tagId } : {}) });
      await until('the new table active on the hub', () => firmware.hub.tableInfo()?.hash === svc.engine.table(iq.id)!.hash);
      return { r, card: encoders.simulated!.simulator.card as MifareClassicCard };
    };
    // What a lock reads: the card's UID and its credential sector (blocks 4–7) as the card holds them.
    const atDoor = (door: { id: string }, card: MifareClassicCard) =>
      firmware.hub.presentTag(door.id, { uid: card.uid, sector: Uint8Array.from([4, 5, 6, 7].flatMap((b) => [...card.raw(b)])) }).decision;

    const first = await encode('blank-1');
    expect(atDoor(office, first.card)).toMatchObject({ granted: true, tagNumber: first.r.tag.tag_number });
    expect(atDoor(server, first.card)).toMatchObject({ granted: false, reason: 'no_access' });

    // A copy of the card's UID (a blank card that answers with it): the lock wants the credential.
    const clone = new MifareClassicCard('classic1k', { uid: first.card.uid });
    expect(atDoor(office, clone)).toMatchObject({ granted: false, reason: 'invalid_credential', cause: 'credential_missing' });

    // Lost: blocked everywhere at once; re-issued onto another card with the next issue counter.
    svc.run(actor, 'tags.report_lost', { id: first.r.tag.id });
    await until('the lost tag in the hub’s table', () => firmware.hub.tableInfo()?.hash === svc.engine.table(iq.id)!.hash);
    expect(atDoor(office, first.card)).toMatchObject({ granted: false, reason: 'blocked' });
    const second = await encode('blank-2', first.r.tag.id);
    expect(second.r).toMatchObject({ reissued: true, issue_counter: 2, tag: { tag_number: first.r.tag.tag_number } });
    expect(atDoor(office, second.card)).toMatchObject({ granted: true, tagNumber: first.r.tag.tag_number });
    expect(atDoor(office, first.card)).toMatchObject({ granted: false, reason: 'unknown_tag' });

    // Every refusal and opening is in the core's audit trail, the copy as a copied card.
    await until('the entries stored', () => svc.run(actor, 'entries.list', { with_count: true }).count === 6);
    expect(svc.run(actor, 'entries.list', { event_detail: 'invalid_credential', with_count: true }).count).toBe(1);
  });
});
