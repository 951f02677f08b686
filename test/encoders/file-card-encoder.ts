// An encoder whose one card lives in a file, written block by block with fsync, so that the card
// outlives a process killed with SIGKILL half-way through writing it — as a real card outlives the
// PC that was writing it. It keeps the port's promises (core/encoders/ports.ts) and models what
// matters for the core's ordering: a credential is genuine only when all three data blocks and the
// trailer (written last) hold the same issue under this site's key; an interrupted card still has
// transport keys, or the keys of an earlier issue.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { CardReading, EncodeRequest, EncoderChange, EncoderDevice, EncoderSource, PresentedCard } from '../../core/encoders/ports.ts';

interface CardFile {
  uid: string;
  /** Blocks 4–6: "<tag>/<counter>/<key fingerprint>" or "" (blank). */
  data: [string, string, string];
  /** The key fingerprint the sector is locked with, or "transport". */
  trailer: string;
}

const fp = (key: Uint8Array) => createHash('sha256').update(key).digest('hex').slice(0, 16);

/** A block write on a card is all or nothing; so is this (a temporary file, synced, renamed over). */
export function writeCard(file: string, card: CardFile): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(card));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export const readCard = (file: string): CardFile => JSON.parse(readFileSync(file, 'utf8')) as CardFile;

/** What a lock would make of the card: its tag and counter when genuine under `key`, else null. */
export function genuine(card: CardFile, key: Uint8Array): { tag: string; counter: number } | null {
  const want = fp(key);
  if (card.trailer !== want || new Set(card.data).size !== 1) return null;
  const [tag, counter, k] = card.data[0].split('/');
  return k === want ? { tag: tag!, counter: Number(counter) } : null;
}

class Failure extends Error {
  constructor(
    readonly code: 'card_removed' | 'foreign_card' | 'verify_failed',
    message: string,
  ) {
    super(message);
  }
}

export class FileCardEncoder implements EncoderDevice, EncoderSource {
  readonly id = 'file:1';
  readonly name = 'File-backed encoder';
  readonly firmware = 'FILE1';
  readonly simulated = true;

  constructor(
    private readonly file: string,
    /** Pause after each block, so that a kill can land between any two. */
    private readonly blockDelayMs: number,
  ) {}

  list(): readonly EncoderDevice[] {
    return [this];
  }
  onAttach(): () => void {
    return () => {};
  }
  problem(): string | null {
    return null;
  }
  card(): PresentedCard | null {
    return { uid: readCard(this.file).uid, card_type: 'mifare_classic_1k' };
  }
  onChange(_l: (c: EncoderChange) => void): () => void {
    return () => {};
  }
  async waitForCard(): Promise<PresentedCard> {
    return this.card()!;
  }
  async read(siteKey: Uint8Array): Promise<CardReading> {
    const card = readCard(this.file);
    const g = genuine(card, siteKey);
    return g
      ? { uid: card.uid, card_type: 'mifare_classic_1k', credential: 'genuine', tag_number: g.tag, issue_counter: g.counter }
      : { uid: card.uid, card_type: 'mifare_classic_1k', credential: 'credential_missing', tag_number: null, issue_counter: null };
  }
  async encode(r: EncodeRequest): Promise<CardReading> {
    const card = readCard(this.file);
    if (card.uid !== r.uid) throw new Failure('card_removed', 'Another card lies on the encoder.');
    if (card.trailer !== 'transport' && card.trailer !== fp(r.siteKey)) throw new Failure('foreign_card', 'The sector opens with neither key.');
    const content = `${r.tagNumber}/${r.issueCounter}/${fp(r.siteKey)}`;
    for (let i = 0; i < 3; i++) {
      card.data[i] = content;
      writeCard(this.file, card);
      r.onStep?.('writing', i + 1);
      await new Promise((res) => setTimeout(res, this.blockDelayMs));
    }
    card.trailer = fp(r.siteKey);
    writeCard(this.file, card);
    r.onStep?.('writing', 4);
    const back = await this.read(r.siteKey);
    if (back.credential !== 'genuine') throw new Failure('verify_failed', 'The card did not read back.');
    return back;
  }
  async erase(): Promise<void> {
    writeCard(this.file, { ...readCard(this.file), data: ['', '', ''], trailer: 'transport' });
  }
  async feedback(): Promise<void> {}
}
