// The front desk's encoder work through the contract, against a fake encoder that keeps the port's
// promises (the driver and its simulator are tested in drivers/encoder): which number and counter a
// card gets, what a pulled card or a killed host leaves behind, and that nothing half-done is reported
// as encoded. The bytes on the card are modelled, not written: {tag number, counter} or nothing.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../contract/errors.ts';
import { ensureSite } from '../host/first-run.ts';
import { SecretBox } from '../secrets/secret-box.ts';
import { systemActor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { EncoderManager } from './encoder-manager.ts';
import type { CardReading, EncodeRequest, EncoderChange, EncoderDevice, EncoderErrorCode, EncoderSource, PresentedCard } from './ports.ts';

const actor = systemActor('front desk');

class FakeCard {
  /** What the credential sector holds, under which site key fingerprint; null: blank. */
  sector: { tagNumber: string; counter: number; key: string } | null = null;
  constructor(
    readonly uid: string,
    readonly card_type: PresentedCard['card_type'] = 'mifare_classic_1k',
  ) {}
}

class EncoderError extends Error {
  constructor(
    readonly code: EncoderErrorCode,
    message: string,
  ) {
    super(message);
  }
}

class FakeEncoder implements EncoderDevice {
  readonly name = 'Fake encoder';
  readonly firmware = 'FAKE1';
  readonly simulated = true;
  onCard: FakeCard | null = null;
  /** Pull the card after this many of the four writes (a card snatched off the desk). */
  pullAfter: number | null = null;
  readonly writes: string[] = [];
  #listeners = new Set<(c: EncoderChange) => void>();
  constructor(readonly id = 'fake:1') {}

  card(): PresentedCard | null {
    return this.onCard ? { uid: this.onCard.uid, card_type: this.onCard.card_type } : null;
  }
  onChange(l: (c: EncoderChange) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
  place(card: FakeCard | null): void {
    this.onCard = card;
    for (const l of this.#listeners) l(card ? { type: 'card-placed', card: this.card()! } : { type: 'card-removed' });
  }
  detach(): void {
    for (const l of [...this.#listeners]) l({ type: 'detached' });
  }
  waitForCard(signal: AbortSignal): Promise<PresentedCard> {
    return new Promise((resolve, reject) => {
      const now = this.card();
      if (now) return resolve(now);
      const off = this.onChange((c) => {
        if (c.type === 'card-placed') {
          off();
          resolve(c.card);
        }
      });
      signal.addEventListener('abort', () => {
        off();
        reject(new EncoderError('no_card', 'no card'));
      });
    });
  }
  async read(siteKey: Uint8Array): Promise<CardReading> {
    const c = this.onCard;
    if (!c) throw new EncoderError('card_removed', 'The card was taken off the encoder.');
    if (c.card_type !== 'mifare_classic_1k') return { uid: c.uid, card_type: c.card_type, credential: 'not_supported', tag_number: null, issue_counter: null };
    const s = c.sector;
    const genuine = s && s.key === Buffer.from(siteKey).toString('hex');
    return genuine
      ? { uid: c.uid, card_type: c.card_type, credential: 'genuine', tag_number: s.tagNumber, issue_counter: s.counter }
      : { uid: c.uid, card_type: c.card_type, credential: 'credential_missing', tag_number: null, issue_counter: null };
  }
  async encode(r: EncodeRequest): Promise<CardReading> {
    const c = this.onCard;
    if (!c || c.uid !== r.uid) throw new EncoderError('card_removed', 'The card was taken off the encoder.');
    for (let block = 1; block <= 4; block++) {
      if (this.pullAfter !== null && block > this.pullAfter) {
        this.pullAfter = null;
        // What blocks 4–6 held is overwritten, but the trailer (last) was not: no genuine credential.
        if (block > 1) c.sector = null;
        this.place(null);
        throw new EncoderError('card_removed', 'The card was taken off the encoder before it was finished.');
      }
      r.onStep?.('writing', block);
    }
    c.sector = { tagNumber: r.tagNumber, counter: r.issueCounter, key: Buffer.from(r.siteKey).toString('hex') };
    this.writes.push(`${c.uid}:${r.tagNumber}/${r.issueCounter}`);
    return this.read(r.siteKey);
  }
  async erase(): Promise<void> {
    if (this.onCard) this.onCard.sector = null;
  }
  async feedback(): Promise<void> {}
}

class FakeSource implements EncoderSource {
  devices: EncoderDevice[] = [];
  #attach = new Set<(d: EncoderDevice) => void>();
  list() {
    return this.devices;
  }
  onAttach(l: (d: EncoderDevice) => void) {
    this.#attach.add(l);
    return () => this.#attach.delete(l);
  }
  problem() {
    return this.devices.length ? null : 'No USB here';
  }
  plug(d: EncoderDevice) {
    this.devices.push(d);
    for (const l of this.#attach) l(d);
  }
}

const dbs: SiteDatabase[] = [];
afterEach(() => {
  for (const d of dbs.splice(0)) d.close();
});

function desk(file = ':memory:', master = new Uint8Array(randomBytes(32))) {
  const db = openDatabase(file);
  dbs.push(db);
  ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
  const svc = new GatehouseService(db);
  svc.secrets = new SecretBox(master);
  const source = new FakeSource();
  const encoder = new FakeEncoder();
  source.devices.push(encoder);
  const manager = new EncoderManager(svc, source);
  const person = (first: string) => svc.run(actor, 'users.create', { first_name: first, last_name: 'Visser' });
  return { db, svc, source, encoder, manager, person };
}

async function refused(p: Promise<unknown>): Promise<GatehouseError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(GatehouseError);
  return e as GatehouseError;
}

describe('EncoderManager', () => {
  it('encodes a blank card for a person: the tag exists only once the card verified', async () => {
    const { svc, encoder, person } = desk();
    const ann = person('Ann');
    const steps: string[] = [];
    svc.on('encoder.progress', (p) => steps.push(`${p.step}${p.step === 'writing' ? p.blocks_written : ''}`));
    const pending = svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: ann.id });
    await new Promise((r) => setTimeout(r, 5));
    expect(svc.run(actor, 'encoders.list', {}).encoders[0]).toMatchObject({ busy: true, card: null });
    expect(svc.run(actor, 'tags.list', {}).count).toBe(0);
    encoder.place(new FakeCard('04A1B2C3'));
    const r = await pending;
    expect(r).toMatchObject({ uid: '04A1B2C3', issue_counter: 1, reissued: false, repaired: false, tag: { card_uid: '04A1B2C3', user_id: ann.id, issue_counter: 1 } });
    expect(steps).toEqual(['waiting_for_card', 'reading', 'writing1', 'writing2', 'writing3', 'writing4', 'saving', 'done']);
    expect(svc.run(actor, 'users.get', { id: ann.id }).tags.map((t) => t.tag_number)).toEqual([r.tag.tag_number]);
    expect(svc.run(actor, 'site.key', {})).toMatchObject({ generation: 1, encoded_cards: 1 });
    expect(svc.run(actor, 'encoders.list', {}).encoders[0]).toMatchObject({ busy: false, card: { uid: '04A1B2C3' } });
  });

  it('a card pulled off mid-write is not a tag; laid on again it is finished with the same number and counter', async () => {
    const { svc, encoder, person } = desk();
    const ann = person('Ann');
    const card = new FakeCard('04A1B2C3');
    for (const after of [0, 1, 2, 3]) {
      encoder.pullAfter = after;
      encoder.place(card);
      const e = await refused(svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: ann.id }));
      expect(e.message).toMatch(/taken off the encoder.*Lay the same card on the encoder again/);
      expect(svc.run(actor, 'tags.list', {}).count).toBe(0);
      const report = await (encoder.place(card), svc.runAsync(actor, 'encoders.read', { encoder_id: 'fake:1' }));
      expect(report).toMatchObject({ credential: 'credential_missing', tag: null, interrupted: { tag_number: '0000000001', issue_counter: 1 } });
    }
    // A number the card may hold is not given to anybody else meanwhile.
    expect(svc.run(actor, 'tags.create', { user_id: null }).tag_number).toBe('0000000002');
    await expect(svc.runAsync(actor, 'tags.create', { tag_number: '0000000001' })).rejects.toThrow(/0000000001 may be on a card whose encoding did not finish/);
    const r = await svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: ann.id });
    expect(r).toMatchObject({ repaired: true, issue_counter: 1, tag: { tag_number: '0000000001', card_uid: '04A1B2C3' } });
    expect((await svc.runAsync(actor, 'encoders.read', { encoder_id: 'fake:1' })).interrupted).toBeNull();
  });

  it('a host killed while the card was on the encoder keeps the number reserved and repairs the card next time', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'gh-enc-'));
    try {
      const master = new Uint8Array(randomBytes(32));
      const first = desk(join(dir, 'g.db'), master);
      const ann = first.person('Ann');
      const card = new FakeCard('04A1B2C3');
      // The write never returns: the host dies with the encoding in 'writing'.
      first.encoder.encode = () => new Promise(() => {});
      first.encoder.place(card);
      void first.svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: ann.id });
      await new Promise((r) => setTimeout(r, 10));
      first.db.close();
      dbs.splice(dbs.indexOf(first.db), 1);

      const again = desk(join(dir, 'g.db'), master);
      expect(again.db.read.prepare(`SELECT state, failure FROM card_encodings`).get()).toEqual({ state: 'failed', failure: 'Gatehouse stopped while the card was on the encoder' });
      again.encoder.place(card);
      const r = await again.svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: ann.id });
      expect(r).toMatchObject({ repaired: true, tag: { tag_number: '0000000001' } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('re-issues a lost tag onto a new card with the next issue counter; the old card reads as superseded', async () => {
    const { svc, encoder, person } = desk();
    const ann = person('Ann');
    const old = new FakeCard('04A1B2C3');
    encoder.place(old);
    const first = await svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: ann.id });
    svc.run(actor, 'tags.report_lost', { id: first.tag.id });
    const fresh = new FakeCard('04D4E5F6');
    encoder.place(fresh);
    const r = await svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: ann.id, tag_id: first.tag.id });
    expect(r).toMatchObject({ reissued: true, issue_counter: 2, tag: { id: first.tag.id, tag_number: first.tag.tag_number, card_uid: '04D4E5F6', lost_or_stolen: false } });
    encoder.place(old);
    const report = await svc.runAsync(actor, 'encoders.read', { encoder_id: 'fake:1' });
    // The old card's UID belongs to no tag now; its credential is genuine but of an earlier issue.
    expect(report).toMatchObject({ credential: 'genuine', tag_number: first.tag.tag_number, issue_counter: 1, tag: null });
    encoder.place(fresh);
    expect(await svc.runAsync(actor, 'encoders.read', { encoder_id: 'fake:1' })).toMatchObject({ tag: { id: first.tag.id }, owner: { id: ann.id }, superseded: false });
  });

  it("refuses someone else's card, an Ultralight, an unknown person and a busy encoder, writing nothing", async () => {
    const { svc, encoder, person } = desk();
    const ann = person('Ann');
    const bob = person('Bob');
    const card = new FakeCard('04A1B2C3');
    encoder.place(card);
    await svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: ann.id });
    const before = encoder.writes.length;
    expect((await refused(svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: bob.id }))).message).toMatch(/is tag 0000000001 of Ann Visser; report it lost/);
    expect((await refused(svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: ann.id }))).message).toMatch(/already is Ann Visser's tag/);
    encoder.place(new FakeCard('04112233445566', 'mifare_ultralight'));
    expect((await refused(svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: bob.id }))).message).toMatch(/Ultralight.*cannot carry a Gatehouse credential/);
    await expect(svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: 'nobody' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(svc.runAsync(actor, 'encoders.encode', { encoder_id: 'usb:9', user_id: bob.id })).rejects.toMatchObject({ code: 'not_found' });
    encoder.place(null);
    const waiting = svc.runAsync(actor, 'encoders.read', { encoder_id: 'fake:1' });
    await expect(svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: bob.id })).rejects.toThrow(/busy with another card/);
    expect(svc.run(actor, 'encoders.cancel', { encoder_id: 'fake:1' })).toEqual({ cancelled: true });
    await expect(waiting).rejects.toThrow(/No card was laid on Fake encoder/);
    expect(encoder.writes.length).toBe(before);
    expect(svc.run(actor, 'tags.list', {}).count).toBe(1);
  });

  it('follows encoders coming and going, and says why there are none', () => {
    const { svc, source, encoder } = desk();
    const seen: number[] = [];
    svc.on('encoder.status', (s) => seen.push(s.encoders.length));
    source.devices = [];
    encoder.detach();
    expect(svc.run(actor, 'encoders.list', {})).toEqual({ encoders: [], problem: 'No USB here', tray: false });
    source.plug(new FakeEncoder('fake:2'));
    expect(svc.run(actor, 'encoders.list', {}).encoders.map((e) => e.id)).toEqual(['fake:2']);
    expect(seen).toEqual([0, 1]);
  });

  it('needs the master key for anything to do with the card key', async () => {
    const { svc, person } = desk();
    svc.secrets = null;
    await expect(svc.runAsync(actor, 'encoders.encode', { encoder_id: 'fake:1', user_id: person('Ann').id })).rejects.toMatchObject({ code: 'unavailable', message: /no master key/ });
    expect(() => svc.run(actor, 'site.key_export', { passphrase: 'correct horse battery' })).toThrow(/no master key/);
  });
});
