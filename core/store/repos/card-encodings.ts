// The encoder's work log (table card_encodings, migration 0050). A row in 'writing' or 'failed' reserves
// its tag number: the card may hold it, so no other card is given it until the row is finished.
import { stmt, type ReadDb, type WriteDb } from '../db.ts';

export type CardEncodingState = 'writing' | 'verified' | 'failed' | 'abandoned';

export interface CardEncoding {
  id: string;
  card_uid: string;
  tag_number: string;
  issue_counter: number;
  tag_id: string | null;
  user_id: string | null;
  site_key_generation: number;
  encoder: string;
  state: CardEncodingState;
  failure: string | null;
  operator: string | null;
  started_at: string;
  finished_at: string | null;
}

export function insertCardEncoding(db: WriteDb, e: CardEncoding): void {
  stmt(
    db,
    `INSERT INTO card_encodings (id, card_uid, tag_number, issue_counter, tag_id, user_id, site_key_generation, encoder, state, failure, operator, started_at, finished_at)
     VALUES (@id, @card_uid, @tag_number, @issue_counter, @tag_id, @user_id, @site_key_generation, @encoder, @state, @failure, @operator, @started_at, @finished_at)`,
  ).run(e);
}

export function finishCardEncoding(db: WriteDb, id: string, state: Exclude<CardEncodingState, 'writing'>, at: string, failure: string | null = null): void {
  stmt(db, 'UPDATE card_encodings SET state = ?, failure = ?, finished_at = ? WHERE id = ?').run(state, failure, at, id);
}

/** The card's unfinished encoding (writing or failed), if any: what it may hold now. */
export function openEncodingOfCard(db: ReadDb, uid: string): CardEncoding | null {
  return (stmt(db, `SELECT * FROM card_encodings WHERE card_uid = ? AND state IN ('writing', 'failed') ORDER BY started_at DESC LIMIT 1`).get(uid) as CardEncoding | undefined) ?? null;
}

/** Encodings a host stopped in the middle of (killed while a card was on the encoder). */
export function interruptedEncodings(db: ReadDb): CardEncoding[] {
  return stmt(db, `SELECT * FROM card_encodings WHERE state = 'writing' ORDER BY started_at`).all() as CardEncoding[];
}

export function lastEncodingOfCard(db: ReadDb, uid: string): CardEncoding | null {
  return (stmt(db, 'SELECT * FROM card_encodings WHERE card_uid = ? ORDER BY started_at DESC, rowid DESC LIMIT 1').get(uid) as CardEncoding | undefined) ?? null;
}

/** The highest tag number held by a tag or reserved by an unfinished encoding, as a number (0: none). */
export function highestTagNumber(db: ReadDb): number {
  const m = stmt(
    db,
    `SELECT max(n) FROM (SELECT max(tag_number) AS n FROM tags UNION ALL SELECT max(tag_number) FROM card_encodings WHERE state IN ('writing', 'failed'))`,
  ).pluck().get() as string | null;
  return m === null ? 0 : Number(m);
}

export function isTagNumberReserved(db: ReadDb, tagNumber: string): boolean {
  return stmt(db, `SELECT 1 FROM card_encodings WHERE tag_number = ? AND state IN ('writing', 'failed')`).get(tagNumber) !== undefined;
}

export function encodingCount(db: ReadDb, siteKeyGeneration?: number): number {
  return (siteKeyGeneration === undefined
    ? stmt(db, `SELECT count(*) FROM card_encodings WHERE state = 'verified'`).pluck().get()
    : stmt(db, `SELECT count(*) FROM card_encodings WHERE state = 'verified' AND site_key_generation = ?`).pluck().get(siteKeyGeneration)) as number;
}
