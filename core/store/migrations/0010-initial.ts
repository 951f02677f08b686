// The site model, operators and their log, tokens, compiled-table versions and the first audit trail.
import type { Migration } from './index.ts';

const bool = (name: string, dflt = 0) => `${name} INTEGER NOT NULL DEFAULT ${dflt} CHECK (${name} IN (0, 1))`;
const oneOf = (name: string, values: readonly string[]) => `CHECK (${name} IN (${values.map((v) => `'${v}'`).join(', ')}))`;

const scheduleColumns = `
  ${bool('monday')}, ${bool('tuesday')}, ${bool('wednesday')}, ${bool('thursday')}, ${bool('friday')},
  ${bool('saturday')}, ${bool('sunday')}, ${bool('holiday')}, ${bool('special_1')}, ${bool('special_2')},
  start_time TEXT NOT NULL, end_time TEXT NOT NULL, start_date TEXT, end_date TEXT`;

export const migration0010: Migration = {
  version: 10,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE site (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        id TEXT NOT NULL UNIQUE,
        site_uid TEXT NOT NULL,
        customer_reference TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE iqs (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        mac TEXT NOT NULL UNIQUE,
        customer_reference TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        ${bool('online')},
        data_sync_state TEXT NOT NULL DEFAULT 'not_synced' ${oneOf('data_sync_state', ['synced', 'pending', 'not_synced', 'failed'])},
        signal_strength INTEGER,
        ${bool('subscribed', 1)},
        reset_date TEXT,
        firmware TEXT,
        serial TEXT,
        revision INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE locks (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        customer_reference TEXT NOT NULL,
        mac TEXT UNIQUE,
        lock_type TEXT NOT NULL DEFAULT 'escutcheon',
        iq_id TEXT REFERENCES iqs(id) ON DELETE SET NULL,
        iq_link_state TEXT NOT NULL DEFAULT 'detached' ${oneOf('iq_link_state', ['attached', 'attached_pending', 'detached', 'detached_pending'])},
        locked_state TEXT NOT NULL DEFAULT 'locked' ${oneOf('locked_state', ['locked', 'unlocked', 'office_mode', 'uncertain'])},
        battery_level TEXT NOT NULL DEFAULT 'fresh' ${oneOf('battery_level', ['fresh', 'low', 'very_low', 'unknown'])},
        ${bool('left_open_alarm')},
        ${bool('intrusion_alarm')},
        ${bool('tamper')},
        ${bool('privacy_mode')},
        ${bool('online')},
        office_mode TEXT NOT NULL DEFAULT 'none' ${oneOf('office_mode', ['none', 'easy_office_mode', 'manual_office_mode'])},
        offline_access_keys_limit INTEGER NOT NULL DEFAULT 360 CHECK (offline_access_keys_limit BETWEEN 0 AND 10000),
        floor TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX locks_iq ON locks(iq_id);

      CREATE TABLE lock_eom_schedules (
        lock_id TEXT PRIMARY KEY REFERENCES locks(id) ON DELETE CASCADE,
        ${bool('eom_auto_start')},
        ${scheduleColumns}
      ) STRICT;

      CREATE TABLE users (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL UNIQUE,
        first_name TEXT NOT NULL DEFAULT '',
        last_name TEXT NOT NULL DEFAULT '',
        email TEXT,
        alias TEXT,
        phone TEXT,
        kind TEXT NOT NULL DEFAULT 'employee' ${oneOf('kind', ['employee', 'visitor', 'contractor', 'resident', 'member', 'delivery'])},
        ${bool('blocked')},
        subscription_state TEXT NOT NULL DEFAULT 'subscribed' ${oneOf('subscription_state', ['subscribed', 'suspended'])},
        valid_from TEXT,
        valid_until TEXT,
        ${bool('remote_access')},
        ${bool('toggle_easy_office_mode')},
        ${bool('toggle_manual_office_mode')},
        ${bool('override_privacy_mode')},
        notes TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX users_email ON users(email COLLATE NOCASE) WHERE email IS NOT NULL;
      CREATE INDEX users_name ON users(last_name COLLATE NOCASE, first_name COLLATE NOCASE, pk);

      CREATE TABLE tags (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        tag_number TEXT NOT NULL UNIQUE CHECK (length(tag_number) = 10 AND tag_number NOT GLOB '*[^0-9]*'),
        card_uid TEXT UNIQUE,
        kind TEXT NOT NULL DEFAULT 'card' ${oneOf('kind', ['card', 'fob', 'sticker', 'wristband'])},
        source_iq_id TEXT REFERENCES iqs(id) ON DELETE SET NULL,
        added_date TEXT NOT NULL,
        user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
        ${bool('blocked')},
        ${bool('lost_or_stolen')},
        lost_or_stolen_date TEXT,
        issue_counter INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX tags_user ON tags(user_id);

      CREATE TABLE lock_offline_keys (
        lock_id TEXT NOT NULL REFERENCES locks(id) ON DELETE CASCADE,
        tag_id TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        PRIMARY KEY (lock_id, tag_id)
      ) STRICT;
      CREATE INDEX lock_offline_keys_tag ON lock_offline_keys(tag_id);
      -- The service refuses politely; this keeps the limit even for a write that skips the service.
      CREATE TRIGGER lock_offline_keys_limit BEFORE INSERT ON lock_offline_keys
      WHEN (SELECT count(*) FROM lock_offline_keys WHERE lock_id = NEW.lock_id)
           >= (SELECT offline_access_keys_limit FROM locks WHERE id = NEW.lock_id)
      BEGIN SELECT RAISE(ABORT, 'offline_access_keys_limit reached'); END;

      CREATE TABLE holiday_calendars (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        customer_reference TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE holiday_dates (
        calendar_id TEXT NOT NULL REFERENCES holiday_calendars(id) ON DELETE CASCADE,
        date TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
        day_type TEXT NOT NULL DEFAULT 'holiday' ${oneOf('day_type', ['holiday', 'special_1', 'special_2'])},
        description TEXT,
        PRIMARY KEY (calendar_id, date)
      ) STRICT;

      CREATE TABLE access_groups (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        customer_reference TEXT NOT NULL,
        holiday_calendar_id TEXT REFERENCES holiday_calendars(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE access_group_locks (
        access_group_id TEXT NOT NULL REFERENCES access_groups(id) ON DELETE CASCADE,
        lock_id TEXT NOT NULL REFERENCES locks(id) ON DELETE CASCADE,
        PRIMARY KEY (access_group_id, lock_id)
      ) STRICT;
      CREATE INDEX access_group_locks_lock ON access_group_locks(lock_id);

      CREATE TABLE access_group_users (
        access_group_id TEXT NOT NULL REFERENCES access_groups(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (access_group_id, user_id)
      ) STRICT;
      CREATE INDEX access_group_users_user ON access_group_users(user_id);

      CREATE TABLE time_schedules (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        access_group_id TEXT NOT NULL REFERENCES access_groups(id) ON DELETE CASCADE,
        ${scheduleColumns},
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX time_schedules_group ON time_schedules(access_group_id);

      CREATE TABLE operators (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL ${oneOf('role', ['owner', 'admin', 'front_desk', 'installer', 'auditor'])},
        password_hash TEXT NOT NULL,
        pin_hash TEXT,
        ${bool('disabled')},
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_login_at TEXT
      ) STRICT;

      CREATE TABLE api_clients (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        client_id TEXT NOT NULL UNIQUE,
        customer_reference TEXT NOT NULL,
        role TEXT NOT NULL ${oneOf('role', ['owner', 'admin', 'front_desk', 'installer', 'auditor'])},
        secret_hash TEXT NOT NULL,
        ${bool('disabled')},
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      -- Bearer tokens, stored as SHA-256 of the token so a copy of the file does not hand out sessions.
      CREATE TABLE access_tokens (
        token_hash TEXT PRIMARY KEY,
        subject_kind TEXT NOT NULL ${oneOf('subject_kind', ['operator', 'client'])},
        subject_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);

      -- Who changed what. Append-only in the service layer; each row's hash covers the one before.
      CREATE TABLE operator_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor_kind TEXT NOT NULL,
        actor_id TEXT,
        actor_name TEXT NOT NULL,
        command TEXT NOT NULL,
        target_type TEXT NOT NULL,
        target_id TEXT,
        before TEXT,
        after TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      CREATE INDEX operator_log_target ON operator_log(target_type, target_id);

      -- The access table each IQ should enforce (its content hash) and how many times it changed.
      CREATE TABLE access_tables (
        iq_id TEXT PRIMARY KEY REFERENCES iqs(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        hash TEXT NOT NULL,
        record_count INTEGER NOT NULL,
        byte_size INTEGER NOT NULL,
        generated_at TEXT NOT NULL
      ) STRICT;

      -- The audit trail. Names are copied in at event time so history survives later edits and deletes.
      CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,
        utc_ms INTEGER NOT NULL,
        local_date_time TEXT NOT NULL,
        event_category TEXT NOT NULL,
        event_detail TEXT,
        access_by TEXT,
        lock_id TEXT,
        lock_name TEXT,
        iq_id TEXT,
        user_id TEXT,
        user_name TEXT,
        tag_id TEXT,
        tag_number TEXT,
        source TEXT NOT NULL,
        source_event_id TEXT NOT NULL,
        received_ms INTEGER NOT NULL,
        UNIQUE (source, source_event_id)
      ) STRICT;
      CREATE INDEX entries_time ON entries(utc_ms);
      CREATE INDEX entries_lock ON entries(lock_id, utc_ms);
      CREATE INDEX entries_user ON entries(user_id, utc_ms);
    `);
  },
};
