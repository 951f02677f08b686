// Verifying the hash chains (docs/audit.md): the entries and incidents chains from their latest
// retention anchor, the anchors themselves, and the operator log. Reports the first row of each chain
// that does not hold, in words a person can act on.
import { stmt, type ReadDb } from '../store/db.ts';
import { verifyOperatorLog } from '../store/repos/operator-log.ts';
import { anchorHash, type AnchorRow } from './anchors.ts';
import { chainHash, entryHashBody, GENESIS, incidentHashBody, personalDigest } from './chain.ts';
import type { AuditVerification, ChainReport } from './types.ts';

type Progress = (done: number, total: number, chain: string) => void;

export function verifyAudit(db: ReadDb, onProgress?: Progress): AuditVerification {
  const anchors = verifyAnchors(db);
  const chains: ChainReport[] = [
    verifyTable(db, 'entries', onProgress),
    verifyTable(db, 'incidents', onProgress),
    anchors,
    (() => {
      const r = verifyOperatorLog(db);
      return { chain: 'operator_log' as const, rows: r.rows, first_break: r.firstBreak, anchored_at_seq: null };
    })(),
  ];
  return { ok: chains.every((c) => c.first_break === null), chains };
}

function verifyAnchors(db: ReadDb): ChainReport {
  let prev: Buffer = GENESIS;
  let rows = 0;
  for (const a of stmt(db, 'SELECT * FROM audit_anchors ORDER BY id').iterate() as IterableIterator<AnchorRow>) {
    rows++;
    const expect = anchorHash(prev, a);
    if (!expect.equals(a.anchor_hash)) return { chain: 'anchors', rows, first_break: { seq: a.id, reason: 'retention anchor was edited' }, anchored_at_seq: null };
    prev = a.anchor_hash;
  }
  return { chain: 'anchors', rows, first_break: null, anchored_at_seq: null };
}

function verifyTable(db: ReadDb, chain: 'entries' | 'incidents', onProgress?: Progress): ChainReport {
  const anchor = stmt(db, 'SELECT first_seq, prev_hash FROM audit_anchors WHERE chain = ? ORDER BY id DESC LIMIT 1').get(chain) as
    | { first_seq: number; prev_hash: Buffer }
    | undefined;
  const head = stmt(db, 'SELECT last_seq, last_hash FROM audit_chain_heads WHERE chain = ?').get(chain) as { last_seq: number; last_hash: Buffer } | undefined;
  const total = (stmt(db, `SELECT count(*) AS n FROM ${chain}`).get() as { n: number }).n;
  let prev: Buffer = anchor?.prev_hash ?? GENESIS;
  let expectSeq = anchor?.first_seq ?? 1;
  let rows = 0;
  const report = (seq: number, reason: string): ChainReport => ({ chain, rows, first_break: { seq, reason }, anchored_at_seq: anchor?.first_seq ?? null });
  for (const r of stmt(db, `SELECT * FROM ${chain} ORDER BY seq`).iterate() as IterableIterator<Record<string, unknown> & { seq: number; hash: Buffer }>) {
    rows++;
    if (rows % 100_000 === 0) onProgress?.(rows, total, chain);
    if (r.seq < expectSeq) return report(r.seq, `row ${r.seq} lies before the retention anchor at ${expectSeq} (inserted by hand?)`);
    if (r.seq > expectSeq) return report(expectSeq, expectSeq === r.seq - 1 ? `row ${expectSeq} is missing (deleted by hand?)` : `rows ${expectSeq}–${r.seq - 1} are missing (deleted by hand?)`);
    let body: string;
    if (chain === 'entries') {
      const salt = r.personal_salt as Buffer | null;
      const digest = r.personal_digest as Buffer;
      if (salt && !personalDigest(salt, r as never).equals(digest)) return report(r.seq, 'personal fields were edited (they do not match their digest)');
      // An anonymised row has no salt, so its digest cannot check the fields: they must all be empty.
      if (!salt && (r.user_ref !== null || r.user_name !== null || r.tag_ref !== null || r.tag_number !== null)) {
        return report(r.seq, 'personal fields were edited (an anonymised row, or one whose salt was removed, names a person or tag)');
      }
      body = entryHashBody(r as never);
    } else body = incidentHashBody(r as never);
    const h = chainHash(prev, body);
    if (!h.equals(r.hash)) return report(r.seq, h.equals(chainHash(GENESIS, body)) ? 'does not follow the row before it' : 'content was edited (does not match its hash)');
    prev = r.hash;
    expectSeq = r.seq + 1;
  }
  if (head && head.last_seq >= expectSeq) {
    return report(expectSeq, head.last_seq === expectSeq ? `row ${expectSeq}, the newest, is missing` : `rows ${expectSeq}–${head.last_seq}, the newest, are missing`);
  }
  if (head && head.last_seq < expectSeq - 1) return report(head.last_seq + 1, `rows from ${head.last_seq + 1} on lie after the recorded chain head (it was edited, or rows were added by hand)`);
  if (head && rows > 0 && !prev.equals(head.last_hash)) return report(expectSeq - 1, 'the newest row differs from the recorded chain head');
  if (!head && rows > 0) return report(expectSeq - 1, 'the recorded chain head is missing (deleted by hand?)');
  onProgress?.(rows, total, chain);
  return { chain, rows, first_break: null, anchored_at_seq: anchor?.first_seq ?? null };
}
