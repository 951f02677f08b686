// Retention anchors: when the oldest rows of a chain are deleted, an anchor records the hash of the
// last deleted row so that what remains still verifies. Anchors form their own chain.
import { chainHash, GENESIS } from './chain.ts';
import { stmt, type WriteDb } from '../store/db.ts';

export interface AnchorRow {
  id: number;
  chain: string;
  first_seq: number;
  prev_hash: Buffer;
  deleted_rows: number;
  created_at: string;
  reason: string;
  anchor_hash: Buffer;
}

export function anchorHash(prevAnchor: Uint8Array, a: Omit<AnchorRow, 'anchor_hash'>): Buffer {
  return chainHash(prevAnchor, JSON.stringify([a.id, a.chain, a.first_seq, Buffer.from(a.prev_hash).toString('hex'), a.deleted_rows, a.created_at, a.reason]));
}

export function addAnchor(db: WriteDb, a: Omit<AnchorRow, 'id' | 'anchor_hash'>): void {
  const last = stmt(db, 'SELECT id, anchor_hash FROM audit_anchors ORDER BY id DESC LIMIT 1').get() as { id: number; anchor_hash: Buffer } | undefined;
  const row = { ...a, id: (last?.id ?? 0) + 1 };
  const anchor_hash = anchorHash(last?.anchor_hash ?? GENESIS, row);
  stmt(db, 'INSERT INTO audit_anchors (id, chain, first_seq, prev_hash, deleted_rows, created_at, reason, anchor_hash) VALUES (@id, @chain, @first_seq, @prev_hash, @deleted_rows, @created_at, @reason, @anchor_hash)').run({
    ...row,
    anchor_hash,
  });
}
