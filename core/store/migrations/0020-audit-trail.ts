// The audit trail proper: entries and incidents with hash chains, a dictionary of the records they
// refer to (so 10M rows carry small integers, not UUIDs), hourly counts for dashboards, last-seen times,
// chain heads and retention anchors. Entries written by 0010 are carried over and chained.
import { chainHash, entryHashBody, GENESIS, personalDigest, SaltPool } from '../../audit/chain.ts';
import { rebuildDerived } from '../../audit/derived.ts';
import type { Migration } from './index.ts';

export const migration0020: Migration = {
  version: 20,
  name: 'audit-trail',
  up(db) {
    db.exec(`
      ALTER TABLE entries RENAME TO entries_0010;
      DROP INDEX entries_time;
      DROP INDEX entries_lock;
      DROP INDEX entries_user;

      -- Records the audit trail refers to, by kind and id. Rows are never deleted, so a ref stays
      -- meaningful after the lock, person or tag is gone. aux: a person's platform user id.
      CREATE TABLE audit_refs (
        ref INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('lock', 'iq', 'user', 'tag', 'source')),
        id TEXT NOT NULL,
        aux TEXT,
        UNIQUE (kind, id)
      ) STRICT;
      CREATE INDEX audit_refs_aux ON audit_refs(kind, aux) WHERE aux IS NOT NULL;

      CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,
        utc_ms INTEGER NOT NULL,
        utc_offset_min INTEGER NOT NULL,
        device_ms INTEGER,
        received_ms INTEGER NOT NULL,
        event_category TEXT NOT NULL,
        event_detail TEXT,
        access_by TEXT,
        lock_ref INTEGER,
        lock_name TEXT,
        iq_ref INTEGER,
        user_ref INTEGER,
        user_name TEXT,
        tag_ref INTEGER,
        tag_number TEXT,
        source_ref INTEGER NOT NULL,
        source_event_id TEXT NOT NULL,
        personal_salt BLOB,
        personal_digest BLOB NOT NULL,
        hash BLOB NOT NULL,
        day INTEGER GENERATED ALWAYS AS (utc_ms / 86400000) VIRTUAL
      ) STRICT;
      CREATE UNIQUE INDEX entries_source ON entries(source_ref, source_event_id);
      CREATE INDEX entries_time ON entries(utc_ms);
      -- Per-lock, per-IQ, per-person and per-tag indexes lead with the UTC day: events arrive in time order, so
      -- inserts stay in today's corner of each index instead of touching a random page per row. Queries
      -- walk the days (core/audit/query.ts).
      CREATE INDEX entries_lock ON entries(day, lock_ref, utc_ms) WHERE lock_ref IS NOT NULL;
      CREATE INDEX entries_user ON entries(day, user_ref, utc_ms) WHERE user_ref IS NOT NULL;
      CREATE INDEX entries_tag ON entries(day, tag_ref, utc_ms) WHERE tag_ref IS NOT NULL;
      CREATE INDEX entries_iq ON entries(day, iq_ref, utc_ms) WHERE iq_ref IS NOT NULL;
      -- Categories and details have few values, so these stay append-mostly too; kept apart so that a
      -- filter on either alone reads its index in time order.
      CREATE INDEX entries_category ON entries(event_category, utc_ms);
      CREATE INDEX entries_detail ON entries(event_detail, utc_ms) WHERE event_detail IS NOT NULL;

      CREATE TABLE incidents (
        seq INTEGER PRIMARY KEY,
        utc_ms INTEGER NOT NULL,
        utc_offset_min INTEGER NOT NULL,
        device_ms INTEGER,
        received_ms INTEGER NOT NULL,
        incident_type TEXT NOT NULL CHECK (incident_type IN ('door_left_open', 'intrusion', 'tamper', 'low_battery', 'iq_offline', 'iq_online', 'lock_offline', 'lock_online')),
        lock_ref INTEGER,
        lock_name TEXT,
        iq_ref INTEGER,
        iq_name TEXT,
        source_ref INTEGER NOT NULL,
        source_event_id TEXT NOT NULL,
        acknowledged_at TEXT,
        acknowledged_by TEXT,
        ack_comment TEXT,
        hash BLOB NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX incidents_source ON incidents(source_ref, source_event_id);
      CREATE INDEX incidents_time ON incidents(utc_ms);
      CREATE INDEX incidents_open ON incidents(utc_ms) WHERE acknowledged_at IS NULL;

      -- Counts per local hour (of the lock's zone), lock, category and detail: dashboards read these
      -- instead of scanning entries.
      CREATE TABLE entry_counts (
        local_hour INTEGER NOT NULL,
        lock_ref INTEGER NOT NULL,
        event_category TEXT NOT NULL,
        event_detail TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (local_hour, lock_ref, event_category, event_detail)
      ) STRICT, WITHOUT ROWID;

      -- Per lock and IQ: the last entry, the last opening, and how many entries name it.
      CREATE TABLE audit_last_seen (
        ref INTEGER PRIMARY KEY,
        last_ms INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        last_opened_ms INTEGER,
        n INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      -- Where each hash chain ends, so appends need no scan.
      CREATE TABLE audit_chain_heads (
        chain TEXT PRIMARY KEY CHECK (chain IN ('entries', 'incidents', 'operator_log')),
        last_seq INTEGER NOT NULL,
        last_hash BLOB NOT NULL
      ) STRICT;

      -- Retention deletes the oldest rows; an anchor keeps the hash of the last deleted row so the chain
      -- of what remains still verifies. Anchors are chained among themselves.
      CREATE TABLE audit_anchors (
        id INTEGER PRIMARY KEY,
        chain TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        prev_hash BLOB NOT NULL,
        deleted_rows INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        anchor_hash BLOB NOT NULL
      ) STRICT;
    `);

    const ref = (kind: string, id: string | null): number | null => {
      if (id === null) return null;
      db.prepare('INSERT OR IGNORE INTO audit_refs (kind, id) VALUES (?, ?)').run(kind, id);
      return (db.prepare('SELECT ref FROM audit_refs WHERE kind = ? AND id = ?').get(kind, id) as { ref: number }).ref;
    };
    const insert = db.prepare(`INSERT INTO entries (seq, utc_ms, utc_offset_min, device_ms, received_ms, event_category, event_detail, access_by,
      lock_ref, lock_name, iq_ref, user_ref, user_name, tag_ref, tag_number, source_ref, source_event_id, personal_salt, personal_digest, hash)
      VALUES (@seq, @utc_ms, @utc_offset_min, @device_ms, @received_ms, @event_category, @event_detail, @access_by,
      @lock_ref, @lock_name, @iq_ref, @user_ref, @user_name, @tag_ref, @tag_number, @source_ref, @source_event_id, @personal_salt, @personal_digest, @hash)`);
    const salts = new SaltPool();
    let prev: Buffer = GENESIS;
    let seq = 0;
    for (const old of db.prepare('SELECT * FROM entries_0010 ORDER BY seq').all() as Array<Record<string, unknown>>) {
      seq++;
      const utc = old.utc_ms as number;
      const wall = Date.parse(`${old.local_date_time as string}Z`);
      const personal = { user_ref: ref('user', old.user_id as string | null), user_name: old.user_name as string | null, tag_ref: ref('tag', old.tag_id as string | null), tag_number: old.tag_number as string | null };
      const salt = salts.next();
      const row = {
        seq,
        utc_ms: utc,
        utc_offset_min: Number.isFinite(wall) ? Math.round((wall - utc) / 60_000) : 0,
        device_ms: utc,
        received_ms: old.received_ms as number,
        event_category: old.event_category as string,
        event_detail: old.event_detail as string | null,
        access_by: old.access_by as string | null,
        lock_ref: ref('lock', old.lock_id as string | null),
        lock_name: old.lock_name as string | null,
        iq_ref: ref('iq', old.iq_id as string | null),
        ...personal,
        source_ref: ref('source', old.source as string)!,
        source_event_id: old.source_event_id as string,
        personal_salt: salt,
        personal_digest: personalDigest(salt, personal),
      };
      const hash = chainHash(prev, entryHashBody(row));
      insert.run({ ...row, hash });
      prev = hash;
    }
    if (seq > 0) db.prepare("INSERT INTO audit_chain_heads (chain, last_seq, last_hash) VALUES ('entries', ?, ?)").run(seq, prev);
    db.exec('DROP TABLE entries_0010');
    rebuildDerived(db);
    // The operator log (0010) gets a recorded head too, so losing its newest rows is detected.
    const logHead = db.prepare('SELECT seq, hash FROM operator_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    if (logHead) db.prepare("INSERT INTO audit_chain_heads (chain, last_seq, last_hash) VALUES ('operator_log', ?, ?)").run(logHead.seq, Buffer.from(logHead.hash, 'hex'));
  },
};
