// The encoder driver against the simulated ACR122U: encoding, repairing and verifying credentials,
// and what an operator is told when the card, the radio link or the USB cable lets them down.
import { afterEach, describe, expect, it } from 'vitest';
import { Acr122uSimulator, SIMULATED_FIRMWARE } from '../encoder-sim/acr122u.ts';
import { DesfireCard, MifareClassicCard, UltralightCard } from '../encoder-sim/cards.ts';
import { checkPresentedCard, issueWrites, sectorAfter } from '../mifare/credential.ts';
import { deriveCardKeys } from '../mifare/kdf.ts';
import { UsbOpenError } from '../transport/usb-open-error.ts';
import { openCardEncoder, type EncodeRequest, type EncoderChange, type EncoderErrorCode } from './card-encoder.ts';
import { until } from '../../test/until.ts';

const SITE_KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const OTHER_SITE_KEY = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const SITE_ID = 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607';
const uidOf = (card: { uid: Uint8Array }): string => Buffer.from(card.uid).toString('hex').toUpperCase();

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(o: { stepRetries?: number; card?: MifareClassicCard } = {}) {
  const sim = new Acr122uSimulator({ slowStatusMs: 20 });
  if (o.card) sim.place(o.card);
  const encoder = await openCardEncoder(sim.device, {
    id: 'sim:test',
    simulated: true,
    ...(o.stepRetries !== undefined ? { stepRetries: o.stepRetries } : {}),
    reader: { timeoutMs: 100, slotStatusTimeoutMs: 200, interruptPollMs: 30 },
  });
  const changes: EncoderChange[] = [];
  encoder.onChange((c) => changes.push(c));
  cleanup.push(
    () => sim.unplug(),
    () => encoder.close(),
  );
  /** Lays the card on the encoder and waits until the encoder has seen it. */
  const place = async (card: MifareClassicCard | UltralightCard | DesfireCard) => {
    sim.place(card);
    await until('the encoder to see it', () => encoder.card()?.uid === uidOf(card), 1000, 2);
  };
  return { sim, encoder, changes, place };
}

function request(card: { uid: Uint8Array }, o: Partial<EncodeRequest> = {}): EncodeRequest {
  return { siteKey: SITE_KEY, siteId: SITE_ID, tagNumber: '0000007527', issueCounter: 1, uid: uidOf(card), ...o };
}

async function failure(p: Promise<unknown>): Promise<{ code: EncoderErrorCode; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: EncoderErrorCode; message: string };
  }
  throw new Error('did not fail');
}

/** A defective card: it acknowledges writes to the blocks in `forget` and keeps what it had. */
class ForgetfulCard extends MifareClassicCard {
  readonly forget = new Set<number>();
  constructor(uid = Uint8Array.of(0x0f, 0x0e, 0x0d, 0x0c)) {
    super('classic1k', { uid });
  }
  override write(block: number, data: Uint8Array): ReturnType<MifareClassicCard['write']> {
    return this.forget.has(block) ? { ok: true, value: undefined } : super.write(block, data);
  }
}

/** What a lock holding this site's key makes of the card (it reads with the card's key A). */
function lockView(card: MifareClassicCard, siteKey = SITE_KEY) {
  const sector = Uint8Array.from([4, 5, 6, 7].flatMap((b) => [...card.raw(b)]));
  return checkPresentedCard(siteKey, SITE_ID, card.uid, sector);
}

describe('an attached encoder', () => {
  it('names itself, and reports cards placed and taken off', async () => {
    const { sim, encoder, changes, place } = await setup();
    expect([encoder.id, encoder.name, encoder.firmware, encoder.simulated]).toEqual(['sim:test', 'ACR122U (USB 072F:2200)', SIMULATED_FIRMWARE, true]);
    expect(encoder.card()).toBeNull();
    const card = new MifareClassicCard('classic1k', { uid: Uint8Array.of(0x04, 0xa1, 0xb2, 0xc3) });
    await place(card);
    sim.remove();
    await until('the encoder to see it', () => encoder.card() === null, 1000, 2);
    const ul = new UltralightCard();
    await place(ul);
    expect(changes).toEqual([
      { type: 'card-placed', card: { uid: '04A1B2C3', card_type: 'mifare_classic_1k' } },
      { type: 'card-removed' },
      { type: 'card-placed', card: { uid: uidOf(ul), card_type: 'mifare_ultralight' } },
    ]);
  });

  it('knows the card that already lies on it when it is opened', async () => {
    const card = new MifareClassicCard('classic4k', { uid: Uint8Array.of(1, 2, 3, 4) });
    const { encoder } = await setup({ card });
    expect(encoder.card()).toEqual({ uid: '01020304', card_type: 'mifare_classic_4k' });
  });

  it('waitForCard: at once with a card, on placement without one, no_card on abort', async () => {
    const { encoder, sim } = await setup();
    const aborted = new AbortController();
    const waiting = failure(encoder.waitForCard(aborted.signal));
    aborted.abort();
    expect((await waiting).code).toBe('no_card');
    expect((await failure(encoder.waitForCard(AbortSignal.abort()))).code).toBe('no_card');

    const card = new MifareClassicCard();
    const later = encoder.waitForCard(AbortSignal.timeout(1000));
    sim.place(card);
    expect(await later).toEqual({ uid: 'DEADBEEF', card_type: 'mifare_classic_1k' });
    expect(await encoder.waitForCard(AbortSignal.timeout(1000))).toEqual({ uid: 'DEADBEEF', card_type: 'mifare_classic_1k' });
  });

  it('green and one beep for success, red and two beeps for failure; a feedback that cannot be given is not an error', async () => {
    const { encoder, sim } = await setup();
    await encoder.feedback('success');
    await encoder.feedback('failure');
    expect(sim.ledEvents.map((e) => ({ green: (e.p2 & 0x20) !== 0, red: (e.p2 & 0x10) !== 0, repeat: e.repeat, beep: e.buzzer }))).toEqual([
      { green: true, red: false, repeat: 1, beep: 1 },
      { green: false, red: true, repeat: 2, beep: 1 },
    ]);
    sim.unplug();
    await expect(encoder.feedback('failure')).resolves.toBeUndefined();
  });
});

describe('encoding', () => {
  it('writes a blank card, reports each step, and resolves only once the read-back verified', async () => {
    const card = new MifareClassicCard('classic1k', { uid: Uint8Array.of(0x04, 0xa1, 0xb2, 0xc3) });
    const { encoder } = await setup({ card });
    const steps: string[] = [];
    const result = await encoder.encode(request(card, { onStep: (s, n) => steps.push(`${s} ${n}`) }));
    expect(result).toEqual({ uid: '04A1B2C3', card_type: 'mifare_classic_1k', credential: 'genuine', tag_number: '0000007527', issue_counter: 1 });
    expect(steps).toEqual(['authenticating 0', 'writing 0', 'writing 1', 'writing 2', 'writing 3', 'writing 4', 'verifying 4']);
    // Byte for byte what the credential code specifies (the known answer of docs/credentials.md), trailer included.
    const expected = sectorAfter(issueWrites(SITE_KEY, card.uid, { siteId: SITE_ID, tagNumber: '0000007527', issueCounter: 1 }));
    expect(Uint8Array.from([4, 5, 6, 7].flatMap((b) => [...card.raw(b)]))).toEqual(expected);
    expect(lockView(card).ok).toBe(true);
    expect(await encoder.read(SITE_KEY, SITE_ID)).toEqual(result);
  });

  it('re-encodes a card of this site with a higher issue counter (through its key B)', async () => {
    const card = new MifareClassicCard();
    const { encoder } = await setup({ card });
    await encoder.encode(request(card));
    const again = await encoder.encode(request(card, { tagNumber: '0000000042', issueCounter: 7 }));
    expect(again).toMatchObject({ credential: 'genuine', tag_number: '0000000042', issue_counter: 7 });
    expect(await encoder.read(SITE_KEY, SITE_ID)).toMatchObject({ credential: 'genuine', tag_number: '0000000042', issue_counter: 7 });
    // The keys did not change: they are the card's own, derived from the site key.
    expect(card.raw(7).subarray(10, 16)).toEqual(deriveCardKeys(SITE_KEY, card.uid).keyB);
  });

  it('refuses a card of another site, and a card of another system, as foreign_card and leaves them as they were', async () => {
    const theirs = new MifareClassicCard('classic1k', { uid: Uint8Array.of(0x11, 0x22, 0x33, 0x44) });
    const { encoder, place } = await setup({ card: theirs });
    await encoder.encode({ ...request(theirs), siteKey: OTHER_SITE_KEY });
    const e = await failure(encoder.encode(request(theirs)));
    expect(e.code).toBe('foreign_card');
    expect(e.message).toMatch(/another site or system/);
    expect(lockView(theirs, OTHER_SITE_KEY).ok).toBe(true);
    expect(await encoder.read(SITE_KEY, SITE_ID)).toMatchObject({ credential: 'credential_missing', tag_number: null });

    const hotel = new MifareClassicCard('classic1k', { uid: Uint8Array.of(0x55, 0x66, 0x77, 0x88), keyA: Uint8Array.of(1, 2, 3, 4, 5, 6), keyB: Uint8Array.of(6, 5, 4, 3, 2, 1) });
    await place(hotel);
    expect((await failure(encoder.encode(request(hotel)))).code).toBe('foreign_card');
    expect((await failure(encoder.erase(SITE_KEY, uidOf(hotel)))).code).toBe('foreign_card');
  });

  it('Ultralight and DESFire cards are read by UID only and cannot be encoded', async () => {
    const { encoder, place } = await setup();
    for (const card of [new UltralightCard(), new DesfireCard()]) {
      await place(card);
      const r = await encoder.read(SITE_KEY, SITE_ID);
      expect(r).toEqual({ uid: uidOf(card), card_type: card.kind === 'ultralight' ? 'mifare_ultralight' : 'mifare_desfire', credential: 'not_supported', tag_number: null, issue_counter: null });
      const e = await failure(encoder.encode(request(card)));
      expect(e.code).toBe('not_supported');
      expect(e.message).toMatch(/MIFARE Classic 1K or 4K/);
    }
  });

  it('encodes only the card it was asked to: another card, or none, is card_removed', async () => {
    const card = new MifareClassicCard('classic1k', { uid: Uint8Array.of(9, 9, 9, 9) });
    const { encoder, sim } = await setup({ card });
    const e = await failure(encoder.encode(request(card, { uid: '01020304' })));
    expect(e.code).toBe('card_removed');
    expect(e.message).toMatch(/Another card \(UID 09090909\)/);
    sim.remove();
    await until('the encoder to see it', () => encoder.card() === null, 1000, 2);
    expect((await failure(encoder.encode(request(card)))).code).toBe('card_removed');
    expect((await failure(encoder.read(SITE_KEY, SITE_ID))).code).toBe('no_card');
    expect(lockView(card).ok).toBe(false);
  });

  it('lifted and put back before the writing started: card_removed, and nothing was written', async () => {
    const card = new MifareClassicCard();
    const { encoder, sim } = await setup({ card });
    const onStep = (s: string) => {
      if (s === 'authenticating') {
        sim.remove();
        sim.place(card);
      }
    };
    expect((await failure(encoder.encode(request(card, { onStep })))).code).toBe('card_removed');
    expect(card.raw(5)).toEqual(new Uint8Array(16));
  });

  it('a card that acknowledges writes it did not keep is verify_failed, not a success', async () => {
    const card = new ForgetfulCard();
    const { encoder } = await setup({ card });
    await encoder.encode(request(card, { issueCounter: 1 }));
    card.forget.add(5).add(6);
    const e = await failure(encoder.encode(request(card, { issueCounter: 2 })));
    expect(e.code).toBe('verify_failed');
    expect(e.message).toMatch(/issue 1 instead of 2/);
    const other = new ForgetfulCard(Uint8Array.of(7, 7, 7, 7));
    other.forget.add(6);
    const { encoder: second } = await setup({ card: other });
    expect(await failure(second.encode(request(other)))).toMatchObject({ code: 'verify_failed', message: expect.stringMatching(/MAC does not match/) });
  });

  it('runs one call at a time: a read queued behind an encode sees the finished credential', async () => {
    const card = new MifareClassicCard();
    const { encoder } = await setup({ card });
    const [encoded, read] = await Promise.all([encoder.encode(request(card)), encoder.read(SITE_KEY, SITE_ID)]);
    expect(read).toEqual(encoded);
  });
});

describe('a card taken off in the middle, and presented again', () => {
  for (const n of [1, 2, 3, 4]) {
    it(`after ${n} of the 4 writes: card_removed; a half-written card is never genuine; the same card is then repaired`, async () => {
      const card = new MifareClassicCard('classic1k', { uid: Uint8Array.of(0x04, 0x10 + n, 0x20, 0x30) });
      const { encoder, sim, place } = await setup({ card });
      sim.faults.removeCardAfterBlocks = n;
      const steps: number[] = [];
      const e = await failure(encoder.encode(request(card, { onStep: (s, k) => s === 'writing' && steps.push(k) })));
      expect(e.code).toBe('card_removed');
      expect(e.message).toMatch(/taken off the encoder/);
      expect(steps.at(-1)).toBe(n);

      await place(card);
      const reading = await encoder.read(SITE_KEY, SITE_ID);
      // The trailer is written last: until it is, the sector does not open with the card's key A.
      if (n < 4) {
        expect(reading.credential).toBe('credential_missing');
        expect(lockView(card).ok).toBe(false);
      } else {
        expect(reading).toMatchObject({ credential: 'genuine', issue_counter: 1 });
      }

      const repaired = await encoder.encode(request(card, { issueCounter: 2 }));
      expect(repaired).toMatchObject({ credential: 'genuine', tag_number: '0000007527', issue_counter: 2 });
      expect(lockView(card).ok).toBe(true);
    });
  }

  it('a re-issue interrupted at any write reads as the old credential, the new one, or forged: never a mix', async () => {
    for (const n of [1, 2, 3, 4]) {
      const card = new MifareClassicCard('classic1k', { uid: Uint8Array.of(0x05, n, 0x20, 0x30) });
      const { encoder, sim, place } = await setup({ card });
      await encoder.encode(request(card, { issueCounter: 1 }));
      sim.faults.removeCardAfterBlocks = n;
      expect((await failure(encoder.encode(request(card, { tagNumber: '0000000099', issueCounter: 2 })))).code).toBe('card_removed');
      await place(card);
      const r = await encoder.read(SITE_KEY, SITE_ID);
      const seen = r.credential === 'genuine' ? `${r.tag_number}/${r.issue_counter}` : r.credential;
      expect(['0000007527/1', '0000000099/2', 'credential_forged']).toContain(seen);
      expect(await encoder.encode(request(card, { tagNumber: '0000000099', issueCounter: 2 }))).toMatchObject({ credential: 'genuine', issue_counter: 2 });
    }
  });
});

describe('the radio link and the cable', () => {
  it('a bad CRC once, at authentication, at a write or at the read-back, is retried and the card still verifies', async () => {
    for (const at of ['authenticating 0', 'writing 1', 'writing 3', 'verifying 4']) {
      const card = new MifareClassicCard('classic1k', { uid: Uint8Array.of(0x06, at.length, at.charCodeAt(0), 1) });
      const { encoder, sim } = await setup({ card });
      const onStep = (s: string, n: number) => {
        if (`${s} ${n}` === at) sim.faults.badCardCrc = 1;
      };
      expect(await encoder.encode(request(card, { onStep }))).toMatchObject({ credential: 'genuine' });
      expect(sim.faults.badCardCrc).toBe(0);
      expect(lockView(card).ok).toBe(true);
    }
  });

  it('a card that keeps failing is `failed`, never reads as genuine, and encodes once the link is good again', async () => {
    const card = new MifareClassicCard();
    const { encoder, sim } = await setup({ card, stepRetries: 1 });
    const e = await failure(
      encoder.encode(
        request(card, {
          onStep: (s, n) => {
            if (s === 'writing' && n === 1) sim.faults.badCardCrc = 1000;
          },
        }),
      ),
    );
    expect(e.code).toBe('failed');
    expect(e.message).toMatch(/refused the write to block 5 again and again/);
    expect(lockView(card).ok).toBe(false);
    sim.faults.badCardCrc = 0;
    expect(await encoder.encode(request(card))).toMatchObject({ credential: 'genuine' });
  });

  it('unplugged in the middle: detached, the encoder says so, and every later call is detached', async () => {
    const card = new MifareClassicCard();
    const { encoder, sim, changes } = await setup({ card });
    const e = await failure(
      encoder.encode(
        request(card, {
          onStep: (s, n) => {
            if (s === 'writing' && n === 2) sim.unplug();
          },
        }),
      ),
    );
    expect(e.code).toBe('detached');
    expect(e.message).toBe('The card encoder was unplugged.');
    await until('the encoder to see it', () => changes.some((c) => c.type === 'detached'), 1000, 2);
    expect(encoder.card()).toBeNull();
    expect((await failure(encoder.read(SITE_KEY, SITE_ID))).code).toBe('detached');
    expect((await failure(encoder.waitForCard(AbortSignal.timeout(1000)))).code).toBe('detached');
  });

  it('a reader that does not answer like an ACR122U fails to open with UsbOpenError', async () => {
    const sim = new Acr122uSimulator();
    sim.faults.dropReplies = 100;
    const e = await failure(openCardEncoder(sim.device, { id: 'x', simulated: true, reader: { timeoutMs: 20, retries: 0 } }));
    expect(e).toBeInstanceOf(UsbOpenError);
    expect(e).toMatchObject({ code: 'failed' });
    expect(sim.device.opened).toBe(false);
    sim.unplug();
  });
});

describe('erasing', () => {
  it('restores transport keys with this site key B; the card is blank again and can be encoded anew', async () => {
    const card = new MifareClassicCard();
    const { encoder } = await setup({ card });
    await encoder.encode(request(card));
    await encoder.erase(SITE_KEY, uidOf(card));
    expect(await encoder.read(SITE_KEY, SITE_ID)).toMatchObject({ credential: 'credential_missing' });
    expect(card.raw(5)).toEqual(new Uint8Array(16));
    expect(card.authenticate(7, 'A', new Uint8Array(6).fill(0xff)).ok).toBe(true);
    expect(await encoder.encode(request(card, { issueCounter: 3 }))).toMatchObject({ credential: 'genuine', issue_counter: 3 });
  });

  it('an erase the card did not keep is verify_failed', async () => {
    const card = new ForgetfulCard();
    const { encoder } = await setup({ card });
    await encoder.encode(request(card));
    card.forget.add(5);
    expect((await failure(encoder.erase(SITE_KEY, uidOf(card)))).code).toBe('verify_failed');
  });

  it("another site's card does not erase", async () => {
    const card = new MifareClassicCard();
    const { encoder } = await setup({ card });
    await encoder.encode({ ...request(card), siteKey: OTHER_SITE_KEY });
    expect((await failure(encoder.erase(SITE_KEY, uidOf(card)))).code).toBe('foreign_card');
    expect(lockView(card, OTHER_SITE_KEY).ok).toBe(true);
  });
});
