// The demo's tray of cards beside its simulated encoder, driven through the real station and driver.
import { afterEach, describe, expect, it } from 'vitest';
import type { CardEncoder } from '../encoder/card-encoder.ts';
import { watchEncoders } from '../encoder/station.ts';
import { FakeUsbBus } from '../transport/fake-webusb.ts';
import { createDemoTray, DEMO_ENCODER_SERIAL, type DemoTrayOptions } from './tray.ts';
import { until } from '../../test/until.ts';

const SITE_KEY = Uint8Array.from({ length: 16 }, (_, i) => 0x30 + i);
const SITE_ID = 'b1c2d3e4-0000-4000-8000-000000000001';
const ADA = { uid: '04A1B2C3', tagNumber: '0000001815', issueCounter: 2, label: 'Card of Ada Lovelace (encoded)' };

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** The demo as `serve --demo` wires it: the tray's simulator on a fake bus, watched by the station. */
async function demo(o: Partial<DemoTrayOptions> = {}) {
  const bus = new FakeUsbBus();
  const { simulator, tray } = createDemoTray({ bus, siteKey: SITE_KEY, siteId: SITE_ID, encoded: [ADA], ...o });
  const station = watchEncoders(bus, { simulated: true, reader: { timeoutMs: 100, interruptPollMs: 30 } });
  cleanup.push(
    () => simulator.unplug(),
    () => station.close(),
  );
  await station.ready;
  const encoder = station.list()[0] as CardEncoder;
  const put = async (cardId: string) => {
    tray.place(cardId, encoder.id);
    const uid = tray.cards().find((c) => c.id === cardId)!.uid;
    await until('the encoder to see it', () => encoder.card()?.uid === uid, 1000, 2);
  };
  return { tray, simulator, encoder, put };
}

describe('the demo tray', () => {
  it('lays out blank cards, the encoded ones, a card of another system, a transit ticket and a DESFire card', async () => {
    const { tray } = await demo({ blank: 4 });
    const cards = tray.cards();
    expect(cards.map((c) => [c.id, c.label, c.card_type, c.on_encoder])).toEqual([
      ['blank-1', 'Blank card 1', 'mifare_classic_1k', null],
      ['blank-2', 'Blank card 2', 'mifare_classic_1k', null],
      ['blank-3', 'Blank card 3', 'mifare_classic_1k', null],
      ['blank-4', 'Blank card 4', 'mifare_classic_1k', null],
      ['encoded-1', 'Card of Ada Lovelace (encoded)', 'mifare_classic_1k', null],
      ['hotel', 'Hotel key card (another system)', 'mifare_classic_1k', null],
      ['transit', 'Transit ticket', 'mifare_ultralight', null],
      ['desfire', 'Campus card (DESFire)', 'mifare_desfire', null],
    ]);
    const blanks = cards.filter((c) => c.id.startsWith('blank-')).map((c) => c.uid);
    for (const uid of blanks) {
      expect(uid).toMatch(/^[0-9A-F]{8}$/);
      expect(['08', '88']).not.toContain(uid.slice(0, 2));
    }
    expect(new Set(cards.map((c) => c.uid)).size).toBe(cards.length);
    expect(cards.find((c) => c.id === 'encoded-1')!.uid).toBe('04A1B2C3');
    // Fresh UIDs for every demo: a new tray does not hand out the same blank cards.
    const again = (await demo()).tray.cards().filter((c) => c.id.startsWith('blank-'));
    expect(again.map((c) => c.uid)).not.toEqual(blanks.slice(0, 3));
  });

  it('the tray names the encoder as the station does, and place/remove move cards between them', async () => {
    const { tray, encoder, simulator, put } = await demo();
    expect(encoder.id).toBe(`sim:${DEMO_ENCODER_SERIAL}`);
    await put('blank-2');
    expect(tray.cards().filter((c) => c.on_encoder).map((c) => [c.id, c.on_encoder])).toEqual([['blank-2', encoder.id]]);
    // Placing another card puts the first one back in the tray.
    await put('transit');
    expect(tray.cards().filter((c) => c.on_encoder).map((c) => c.id)).toEqual(['transit']);
    tray.remove(encoder.id);
    await until('the encoder to see it', () => encoder.card() === null, 1000, 2);
    expect(tray.cards().every((c) => c.on_encoder === null)).toBe(true);
    expect(simulator.card).toBeNull();
    expect(() => tray.place('blank-9', encoder.id)).toThrow(/no card "blank-9"/);
    expect(() => tray.place('blank-1', 'usb:1-2')).toThrow(/no simulated encoder "usb:1-2"/);
  });

  it('what each card is when read or encoded through the real driver', async () => {
    const { encoder, put, tray } = await demo();
    await put('encoded-1');
    expect(await encoder.read(SITE_KEY, SITE_ID)).toMatchObject({ credential: 'genuine', tag_number: ADA.tagNumber, issue_counter: ADA.issueCounter });

    await put('hotel');
    const hotelUid = tray.cards().find((c) => c.id === 'hotel')!.uid;
    await expect(encoder.encode({ siteKey: SITE_KEY, siteId: SITE_ID, tagNumber: '0000000001', issueCounter: 1, uid: hotelUid })).rejects.toMatchObject({ code: 'foreign_card' });

    await put('desfire');
    expect(await encoder.read(SITE_KEY, SITE_ID)).toMatchObject({ card_type: 'mifare_desfire', credential: 'not_supported' });
  });

  it('a card keeps what was written to it when it goes back to the tray and comes out again', async () => {
    const { encoder, put, tray } = await demo();
    await put('blank-1');
    const uid = tray.cards().find((c) => c.id === 'blank-1')!.uid;
    expect(await encoder.read(SITE_KEY, SITE_ID)).toMatchObject({ credential: 'credential_missing' });
    await encoder.encode({ siteKey: SITE_KEY, siteId: SITE_ID, tagNumber: '0000000042', issueCounter: 1, uid });
    tray.remove(encoder.id);
    await until('the encoder to see it', () => encoder.card() === null, 1000, 2);
    await put('blank-1');
    expect(await encoder.read(SITE_KEY, SITE_ID)).toMatchObject({ uid, credential: 'genuine', tag_number: '0000000042' });
  });

  it('refuses an encoded card that is not a 4-byte UID, or two cards with one UID', () => {
    const bus = new FakeUsbBus();
    const base = { bus, siteKey: SITE_KEY, siteId: SITE_ID };
    expect(() => createDemoTray({ ...base, encoded: [{ ...ADA, uid: '04A1B2C3D4E5F6' }] })).toThrow(/4-byte UID/);
    expect(() => createDemoTray({ ...base, encoded: [{ ...ADA, uid: 'zz' }] })).toThrow(/4-byte UID/);
    expect(() => createDemoTray({ ...base, encoded: [ADA, { ...ADA, label: 'copy' }] })).toThrow(/two demo cards have the UID 04A1B2C3/);
  });
});
