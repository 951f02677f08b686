// Tamper evidence for the audit trail (docs/audit.md). Each row's hash covers its content and the hash
// of the row before it, so editing, inserting or deleting a row by hand breaks the chain from there on.
// Personal fields are covered through a salted digest: anonymising a row (dropping the fields and the
// salt) keeps its digest, so the chain still verifies while the person can no longer be recovered.
import { hash as sha256, randomFillSync } from 'node:crypto';

export const GENESIS = Buffer.alloc(32);
export const SALT_BYTES = 8;
export const DIGEST_BYTES = 16;

export interface PersonalFields {
  user_ref: number | null;
  user_name: string | null;
  tag_ref: number | null;
  tag_number: string | null;
}

/** Salted digest of the personal fields (truncated SHA-256 over the salt in hex and the fields as JSON). */
export function personalDigest(salt: Uint8Array, p: PersonalFields): Buffer {
  return personalDigestHex(Buffer.from(salt.buffer, salt.byteOffset, salt.byteLength).toString('hex'), p);
}

export function personalDigestHex(saltHex: string, p: PersonalFields): Buffer {
  const body = JSON.stringify([p.user_ref, p.user_name, p.tag_ref, p.tag_number]);
  return sha256('sha256', saltHex + body, 'buffer').subarray(0, DIGEST_BYTES);
}

/** Random salts in bulk (bytes and hex), one random fill per 4096 salts instead of one per row. */
export class SaltPool {
  private pool = Buffer.alloc(0);
  private poolHex = '';
  private pos = 0;

  next(): Buffer {
    return this.take().bytes;
  }

  take(): { bytes: Buffer; hex: string } {
    if (this.pos + SALT_BYTES > this.pool.length) {
      this.pool = randomFillSync(Buffer.alloc(SALT_BYTES * 4096));
      this.poolHex = this.pool.toString('hex');
      this.pos = 0;
    }
    // A view, not a copy: a pool is never written again once handed out.
    const bytes = this.pool.subarray(this.pos, this.pos + SALT_BYTES);
    const hex = this.poolHex.slice(this.pos * 2, (this.pos + SALT_BYTES) * 2);
    this.pos += SALT_BYTES;
    return { bytes, hex };
  }
}

/** The fields an entry's hash covers, in a fixed order. */
export function entryHashBody(r: {
  seq: number;
  utc_ms: number;
  utc_offset_min: number;
  device_ms: number | null;
  received_ms: number;
  event_category: string;
  event_detail: string | null;
  access_by: string | null;
  lock_ref: number | null;
  lock_name: string | null;
  iq_ref: number | null;
  source_ref: number;
  source_event_id: string;
  personal_digest: Uint8Array | null;
}): string {
  return JSON.stringify([
    r.seq,
    r.utc_ms,
    r.utc_offset_min,
    r.device_ms,
    r.received_ms,
    r.event_category,
    r.event_detail,
    r.access_by,
    r.lock_ref,
    r.lock_name,
    r.iq_ref,
    r.source_ref,
    r.source_event_id,
    r.personal_digest ? Buffer.from(r.personal_digest).toString('hex') : null,
  ]);
}

/** The fields an incident's hash covers (acknowledgements are not: they are in the operator log). */
export function incidentHashBody(r: {
  seq: number;
  utc_ms: number;
  utc_offset_min: number;
  device_ms: number | null;
  received_ms: number;
  incident_type: string;
  lock_ref: number | null;
  lock_name: string | null;
  iq_ref: number | null;
  iq_name: string | null;
  source_ref: number;
  source_event_id: string;
}): string {
  return JSON.stringify([
    r.seq,
    r.utc_ms,
    r.utc_offset_min,
    r.device_ms,
    r.received_ms,
    r.incident_type,
    r.lock_ref,
    r.lock_name,
    r.iq_ref,
    r.iq_name,
    r.source_ref,
    r.source_event_id,
  ]);
}

/** SHA-256 over the previous hash in hex and the row's body. */
export function chainHash(prev: Uint8Array, body: string): Buffer {
  return sha256('sha256', Buffer.from(prev.buffer, prev.byteOffset, prev.byteLength).toString('hex') + body, 'buffer');
}
