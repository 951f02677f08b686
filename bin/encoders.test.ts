// The encoder composition root as `serve --demo` runs it: the simulated ACR122U on its fake USB bus,
// the tray of cards beside it, and the core's EncoderManager, all real but the card's radio. Encodes a
// blank card end to end (the bytes really are on the virtual card), finds the demo people's cards, and
// keeps "no USB here" a calm state.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { seedDemo } from '../core/host/demo.ts';
import { ensureSite } from '../core/host/first-run.ts';
import { SecretBox } from '../core/secrets/secret-box.ts';
import { systemActor } from '../core/service/actor.ts';
import { GatehouseService } from '../core/service/service.ts';
import { openDatabase, type SiteDatabase } from '../core/store/db.ts';
import { FakeUsbBus } from '../drivers/transport/fake-webusb.ts';
import { createEncoders, type Encoders } from './encoders.ts';
import { until } from '../test/until.ts';

const actor = systemActor('front desk');
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const noUsb = () => {
  const bus = new FakeUsbBus();
  bus.failEnumeration(new Error('getDevices error: Failed to open /sys/bus/usb/devices'));
  return Promise.resolve(bus);
};

function demoSite(opts: { demo?: boolean } = {}): GatehouseService {
  const db: SiteDatabase = openDatabase(':memory:');
  cleanup.push(() => db.close());
  ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
  const svc = new GatehouseService(db);
  if (opts.demo !== false) seedDemo(svc, { now: Date.now(), people: 20 });
  svc.secrets = new SecretBox(new Uint8Array(randomBytes(32)));
  return svc;
}

function wire(svc: GatehouseService, o: { simulated?: boolean } = {}): Encoders {
  const encoders = createEncoders({ log: () => {}, simulated: o.simulated ?? true, usb: { load: noUsb } });
  cleanup.push(() => encoders.close());
  cleanup.push(encoders.attach(svc) ?? (() => {}));
  return encoders;
}

describe('bin/encoders (the demo encoder and tray)', () => {
  it('encodes a blank card from the tray for a person, for real on the virtual card', async () => {
    const svc = demoSite();
    const encoders = wire(svc);
    const state = await until('the simulated encoder', () => svc.run(actor, 'encoders.list', {}).encoders[0] && svc.run(actor, 'encoders.list', {}));
    expect(state).toMatchObject({ tray: true, problem: null, encoders: [{ id: 'sim:demo-encoder-1', simulated: true, card: null, busy: false }] });
    const tray = svc.run(actor, 'encoders.tray.list', {});
    expect(tray.map((c) => c.id)).toEqual(expect.arrayContaining(['blank-1', 'encoded-1', 'encoded-2', 'hotel', 'transit', 'desfire']));

    const person = svc.run(actor, 'users.create', { first_name: 'Ada', last_name: 'Lovelace' });
    const encoding = svc.runAsync(actor, 'encoders.encode', { encoder_id: 'sim:demo-encoder-1', user_id: person.id });
    svc.run(actor, 'encoders.tray.place', { card_id: 'blank-1', encoder_id: 'sim:demo-encoder-1' });
    const r = await encoding;
    const blank = tray.find((c) => c.id === 'blank-1')!;
    expect(r).toMatchObject({ uid: blank.uid, issue_counter: 1, tag: { user_id: person.id, card_uid: blank.uid } });
    expect(encoders.simulated!.simulator.card).not.toBeNull();

    const report = await svc.runAsync(actor, 'encoders.read', { encoder_id: 'sim:demo-encoder-1' });
    expect(report).toMatchObject({ credential: 'genuine', tag_number: r.tag.tag_number, issue_counter: 1, owner: { id: person.id } });
  });

  it('erases a card back to transport keys only once its tag is no longer held', async () => {
    const svc = demoSite();
    wire(svc);
    await until('the simulated encoder', () => svc.run(actor, 'encoders.list', {}).encoders[0]);
    const person = svc.run(actor, 'users.create', { first_name: 'Ada', last_name: 'Lovelace' });
    svc.run(actor, 'encoders.tray.place', { card_id: 'blank-2', encoder_id: 'sim:demo-encoder-1' });
    const r = await svc.runAsync(actor, 'encoders.encode', { encoder_id: 'sim:demo-encoder-1', user_id: person.id });
    await expect(svc.runAsync(actor, 'encoders.erase', { encoder_id: 'sim:demo-encoder-1' })).rejects.toThrow(/held by Ada Lovelace; unassign or block/);
    svc.run(actor, 'tags.report_lost', { id: r.tag.id });
    expect(await svc.runAsync(actor, 'encoders.erase', { encoder_id: 'sim:demo-encoder-1' })).toEqual({ uid: r.uid });
    expect(await svc.runAsync(actor, 'encoders.read', { encoder_id: 'sim:demo-encoder-1' })).toMatchObject({ credential: 'credential_missing' });
    // Erased means blank again: it takes a new credential with the transport key.
    const other = svc.run(actor, 'users.create', { first_name: 'Grace', last_name: 'Hopper' });
    svc.run(actor, 'tags.update', { id: r.tag.id, card_uid: null });
    expect(await svc.runAsync(actor, 'encoders.encode', { encoder_id: 'sim:demo-encoder-1', user_id: other.id })).toMatchObject({ uid: r.uid, issue_counter: 1 });
  });

  it("finds the demo people's pre-encoded cards, and tells foreign cards apart", async () => {
    const svc = demoSite();
    wire(svc);
    await until('the simulated encoder', () => svc.run(actor, 'encoders.list', {}).encoders[0]);
    const read = async (card_id: string) => {
      svc.run(actor, 'encoders.tray.place', { card_id, encoder_id: 'sim:demo-encoder-1' });
      return svc.runAsync(actor, 'encoders.read', { encoder_id: 'sim:demo-encoder-1' });
    };
    const demo = await read('encoded-1');
    expect(demo).toMatchObject({ credential: 'genuine', issue_counter: 1, superseded: false });
    expect(demo.owner).not.toBeNull();
    expect(demo.tag?.tag_number).toBe(demo.tag_number);
    expect(await read('hotel')).toMatchObject({ credential: 'credential_missing', tag: null, owner: null });
    expect(await read('transit')).toMatchObject({ card_type: 'mifare_ultralight', credential: 'not_supported' });
    await expect(
      (async () => {
        svc.run(actor, 'encoders.tray.place', { card_id: 'hotel', encoder_id: 'sim:demo-encoder-1' });
        return svc.runAsync(actor, 'encoders.encode', { encoder_id: 'sim:demo-encoder-1', user_id: demo.owner!.id });
      })(),
    ).rejects.toThrow(/another (site|system)/i);
  });

  it('without USB and without the demo, there is no encoder and the reason says so', async () => {
    const svc = demoSite({ demo: false });
    wire(svc, { simulated: false });
    const state = await until('the USB problem', () => (svc.run(actor, 'encoders.list', {}).problem !== null ? svc.run(actor, 'encoders.list', {}) : null));
    expect(state).toMatchObject({ encoders: [], tray: false });
    expect(state.problem).toMatch(/USB/);
    expect(() => svc.run(actor, 'encoders.tray.list', {})).toThrow(/no demo card tray/);
  });
});
