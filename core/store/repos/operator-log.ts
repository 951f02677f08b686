// The operator log: who changed what, with before/after images. Rows are only ever appended, and each
// carries a SHA-256 over its content and the previous row's hash, so an edit made to the file by hand
// shows up as a broken chain (verifyOperatorLog).
import { createHash } from 'node:crypto';
import type { OperatorLogEntry } from '../../contract/results.ts';
import type { FieldMap } from '../../query/filter-sql.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';
import type { ListSpec } from '../list.ts';
import type { SqlRow } from './rows.ts';

export const GENESIS_HASH = '0'.repeat(64);

export type LogRecord = Omit<OperatorLogEntry, 'seq'>;

function rowHash(prev: string, seq: number, r: { at: string; actor_kind: string; actor_id: string | null; actor_name: string; command: string; target_type: string; target_id: string | null; before: string | null; after: string | null }): string {
  const body = JSON.stringify([seq, r.at, r.actor_kind, r.actor_id, r.actor_name, r.command, r.target_type, r.target_id, r.before, r.after]);
  return createHash('sha256').update(prev).update('\n').update(body).digest('hex');
}

export function appendOperatorLog(db: WriteDb, records: LogRecord[]): void {
  if (records.length === 0) return;
  const last = stmt(db, 'SELECT seq, hash FROM operator_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  let seq = last?.seq ?? 0;
  let prev = last?.hash ?? GENESIS_HASH;
  const insert = stmt(
    db,
    `INSERT INTO operator_log (seq, at, actor_kind, actor_id, actor_name, command, target_type, target_id, before, after, prev_hash, hash)
     VALUES (@seq, @at, @actor_kind, @actor_id, @actor_name, @command, @target_type, @target_id, @before, @after, @prev_hash, @hash)`,
  );
  for (const r of records) {
    seq++;
    const row = { ...r, before: r.before === undefined ? null : JSON.stringify(r.before), after: r.after === undefined ? null : JSON.stringify(r.after) };
    const hash = rowHash(prev, seq, row);
    insert.run({ ...row, seq, prev_hash: prev, hash });
    prev = hash;
  }
  // The recorded head lets verification notice rows missing at the newest end.
  stmt(db, "INSERT INTO audit_chain_heads (chain, last_seq, last_hash) VALUES ('operator_log', ?, ?) ON CONFLICT(chain) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash").run(
    seq,
    Buffer.from(prev, 'hex'),
  );
}

export interface ChainBreak {
  seq: number;
  reason: string;
}

/** The first row whose hash chain does not hold, or null when the whole log checks out. */
export function verifyOperatorLog(db: ReadDb): { rows: number; firstBreak: ChainBreak | null } {
  let prev = GENESIS_HASH;
  let expectSeq = 1;
  let rows = 0;
  for (const row of stmt(db, 'SELECT * FROM operator_log ORDER BY seq').iterate() as IterableIterator<SqlRow & { seq: number; prev_hash: string; hash: string }>) {
    rows++;
    if (row.seq > expectSeq) return { rows, firstBreak: { seq: expectSeq, reason: row.seq === expectSeq + 1 ? `row ${expectSeq} is missing (deleted by hand?)` : `rows ${expectSeq}–${row.seq - 1} are missing (deleted by hand?)` } };
    if (row.seq < expectSeq) return { rows, firstBreak: { seq: row.seq, reason: `row ${row.seq} is out of order (inserted by hand?)` } };
    if (row.prev_hash !== prev) return { rows, firstBreak: { seq: row.seq, reason: 'does not follow the row before it' } };
    const h = rowHash(prev, row.seq, row as never);
    if (h !== row.hash) return { rows, firstBreak: { seq: row.seq, reason: 'content does not match its hash (edited)' } };
    prev = row.hash;
    expectSeq++;
  }
  const head = stmt(db, "SELECT last_seq, last_hash FROM audit_chain_heads WHERE chain = 'operator_log'").get() as { last_seq: number; last_hash: Buffer } | undefined;
  if (head && head.last_seq >= expectSeq) {
    return { rows, firstBreak: { seq: expectSeq, reason: head.last_seq === expectSeq ? `row ${expectSeq}, the newest, is missing` : `rows ${expectSeq}–${head.last_seq}, the newest, are missing` } };
  }
  if (head && rows > 0 && head.last_hash.toString('hex') !== prev) return { rows, firstBreak: { seq: expectSeq - 1, reason: 'the newest row differs from the recorded chain head' } };
  if (!head && rows > 0) return { rows, firstBreak: { seq: expectSeq - 1, reason: 'the recorded chain head is missing' } };
  return { rows, firstBreak: null };
}

export const OPERATOR_LOG_FIELDS: FieldMap = {
  seq: { column: 'o.seq', type: 'number' },
  at: { column: 'o.at', type: 'datetime' },
  actor_kind: { column: 'o.actor_kind', type: 'string' },
  actor_id: { column: 'o.actor_id', type: 'string' },
  actor_name: { column: 'o.actor_name', type: 'string' },
  command: { column: 'o.command', type: 'string' },
  target_type: { column: 'o.target_type', type: 'string' },
  target_id: { column: 'o.target_id', type: 'string' },
};

export const operatorLogList: ListSpec<SqlRow, OperatorLogEntry> = {
  from: 'operator_log o',
  select: 'o.seq, o.at, o.actor_kind, o.actor_id, o.actor_name, o.command, o.target_type, o.target_id, o.before, o.after',
  fields: OPERATOR_LOG_FIELDS,
  searchColumns: ['o.actor_name', 'o.command', 'o.target_id'],
  defaultOrder: [{ field: 'seq', direction: 'desc' }],
  tieBreaker: 'o.seq',
  map: (row) => ({
    ...(row as unknown as OperatorLogEntry),
    before: row.before === null ? null : JSON.parse(row.before as string),
    after: row.after === null ? null : JSON.parse(row.after as string),
  }),
};
