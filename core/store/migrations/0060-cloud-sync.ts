// Optional sync with a CLP / KS cloud (docs/cloud-sync.md). Everything the sync engine must remember
// across a crash lives here, never in memory: what is still to be sent, which local record is which
// cloud record, what both sides last agreed on, and the conflicts an admin has to review.
//
// cloud_sync_state: one row. `enabled` is the site's switch (off: commands write no outbox rows).
// cloud_outbox: local changes in commit order, written in the command's own transaction; the
//   idempotency key is stored with the row so every retry of it carries the same key.
// cloud_links: local id ↔ cloud id, unique both ways; a user has two cloud ids (site-user, platform).
// cloud_records: per synced record, the fields last queued to the outbox (what the hook diffs a
//   command's result against) and the fields the cloud was last known to hold (the merge base).
// cloud_conflicts: fields changed on both sides to different values, and deletes against edits.
import type { Migration } from './index.ts';

const KINDS = `'iq', 'lock', 'user', 'tag', 'access_group'`;

export const migration0060: Migration = {
  version: 60,
  name: 'cloud-sync',
  up(db) {
    db.exec(`
      CREATE TABLE cloud_sync_state (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        enabled INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
        cloud_site_id TEXT,
        last_pull_at TEXT,
        last_push_at TEXT,
        last_error TEXT,
        last_error_at TEXT,
        -- CLP-Continuation-Token of the entries read so far, and any other per-resource pull cursor.
        entries_continuation_token TEXT,
        cursors TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(cursors) AND json_type(cursors) = 'object'),
        CHECK ((last_error IS NULL) = (last_error_at IS NULL))
      ) STRICT;
      INSERT INTO cloud_sync_state (singleton) VALUES (1);

      CREATE TABLE cloud_outbox (
        -- AUTOINCREMENT: a seq is never handed out twice, even after sent rows are pruned, so the order
        -- of the outbox is the order of the commits for as long as the file lives.
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_kind TEXT NOT NULL CHECK (record_kind IN (${KINDS})),
        local_id TEXT NOT NULL,
        operation TEXT NOT NULL CHECK (operation IN ('create', 'update', 'delete')),
        -- create: every field; update: the changed fields (null: cleared or removed); delete: none.
        fields TEXT CHECK (fields IS NULL OR (json_valid(fields) AND json_type(fields) = 'object')),
        -- Random, not derived from seq: a database restored from a backup hands out the same seqs again
        -- for other changes, and the cloud must not take those for retries of the old ones.
        idempotency_key TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed', 'superseded')),
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        CHECK ((operation = 'delete') = (fields IS NULL)),
        CHECK ((state = 'pending') = (finished_at IS NULL))
      ) STRICT;
      CREATE INDEX cloud_outbox_pending ON cloud_outbox(seq) WHERE state = 'pending';
      CREATE INDEX cloud_outbox_record ON cloud_outbox(record_kind, local_id) WHERE state = 'pending';

      CREATE TABLE cloud_links (
        kind TEXT NOT NULL CHECK (kind IN (${KINDS}, 'time_schedule')),
        local_id TEXT NOT NULL,
        cloud_id TEXT NOT NULL,
        -- Users only: the platform user id (access-group membership and entries use it, /users/{id} the other).
        cloud_user_id TEXT,
        linked_at TEXT NOT NULL,
        PRIMARY KEY (kind, local_id),
        UNIQUE (kind, cloud_id),
        CHECK ((kind = 'user') = (cloud_user_id IS NOT NULL))
      ) STRICT;
      CREATE UNIQUE INDEX cloud_links_platform_user ON cloud_links(cloud_user_id) WHERE cloud_user_id IS NOT NULL;

      CREATE TABLE cloud_records (
        kind TEXT NOT NULL CHECK (kind IN (${KINDS})),
        local_id TEXT NOT NULL,
        -- The record's cloud fields as last written to the outbox; null: deleted here, the delete not yet
        -- acknowledged (kept so a pull in between still knows the base it is merging against).
        queued TEXT CHECK (queued IS NULL OR (json_valid(queued) AND json_type(queued) = 'object')),
        -- What the cloud was last known to hold (pulled, or pushed and acknowledged); null: not there yet.
        base TEXT CHECK (base IS NULL OR (json_valid(base) AND json_type(base) = 'object')),
        -- When each field last changed here, for the last-writer-wins choice between conflicting values.
        changed_at TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(changed_at) AND json_type(changed_at) = 'object'),
        PRIMARY KEY (kind, local_id),
        CHECK (queued IS NOT NULL OR base IS NOT NULL)
      ) STRICT;

      CREATE TABLE cloud_conflicts (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN (${KINDS})),
        local_id TEXT NOT NULL,
        -- null: the whole record, a delete on one side against an edit on the other.
        field TEXT,
        -- JSON; null: absent (cleared, or the record deleted).
        local_value TEXT CHECK (local_value IS NULL OR json_valid(local_value)),
        cloud_value TEXT CHECK (cloud_value IS NULL OR json_valid(cloud_value)),
        base_value TEXT CHECK (base_value IS NULL OR json_valid(base_value)),
        -- The provisional winner, in force until an admin decides otherwise.
        winner TEXT NOT NULL CHECK (winner IN ('local', 'cloud')),
        detected_at TEXT NOT NULL,
        resolved_at TEXT,
        resolution TEXT CHECK (resolution IN ('kept_winner', 'took_local', 'took_cloud')),
        CHECK ((resolved_at IS NULL) = (resolution IS NULL))
      ) STRICT;
      CREATE INDEX cloud_conflicts_open ON cloud_conflicts(kind, local_id) WHERE resolved_at IS NULL;
    `);
  },
};
