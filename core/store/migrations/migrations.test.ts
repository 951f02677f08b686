// Migration tests, one block per migration (in the style of Signal Desktop's): migrate an empty database
// to exactly that version, then check the schema it leaves by what it accepts and refuses. Add a block
// for every new migration, starting from the version before it, with the rows it has to carry over.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseCorruptError, DatabaseFromFutureError, NotAGatehouseDatabaseError, openDatabase, type SiteDatabase, type WriteDb } from '../db.ts';
import { LATEST_VERSION, MIGRATIONS, runMigrations, type Migration } from './index.ts';
import { migration0010 } from './0010-initial.ts';

let dir: string;
let file: string;
const open: Array<{ close(): void }> = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-'));
  file = path.join(dir, 'site.db');
});
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function track<T extends { close(): void }>(db: T): T {
  open.push(db);
  return db;
}

/** An empty database migrated to exactly `version`. */
function migratedTo(version: number): SiteDatabase {
  const db = track(openDatabase(file, { targetVersion: version }));
  expect(db.read.pragma('user_version', { simple: true })).toBe(version);
  return db;
}

function raw(f = file): Database.Database {
  return track(new Database(f));
}

// Without sqlite_stat*: close() runs PRAGMA optimize, which may ANALYZE and create them.
const schemaOf = (db: Database.Database) =>
  db.prepare(`SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name`).all();
const tablesOf = (db: Database.Database) =>
  db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all() as string[];

function closeAll(): void {
  for (const db of open.splice(0)) db.close();
}

describe('the migration list', () => {
  it('has positive integer versions, strictly increasing, with unique names; LATEST_VERSION is the last', () => {
    const versions = MIGRATIONS.map((m) => m.version);
    for (const v of versions) expect(Number.isInteger(v) && v > 0).toBe(true);
    for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThan(versions[i - 1]!);
    expect(new Set(MIGRATIONS.map((m) => m.name)).size).toBe(MIGRATIONS.length);
    expect(LATEST_VERSION).toBe(versions.at(-1));
  });
});

describe('runMigrations', () => {
  const addExtra: Migration = {
    version: 20,
    name: 'extra',
    up: (db) => db.exec(`CREATE TABLE extra (x INTEGER) STRICT; INSERT INTO settings (key, value) VALUES ('extra', '1');`),
  };
  const failing: Migration = {
    version: 30,
    name: 'failing',
    up: (db) => {
      db.exec('CREATE TABLE half_done (x INTEGER) STRICT');
      throw new Error('boom in 30');
    },
  };

  it('runs all pending migrations in one transaction: a failure leaves an empty file empty', () => {
    const db = raw();
    expect(() => runMigrations(db, 30, [migration0010, addExtra, failing])).toThrow('boom in 30');
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(schemaOf(db)).toEqual([]);
  });

  it('a failure leaves user_version, schema and rows as they were before the run', () => {
    const db = raw();
    runMigrations(db, 10, [migration0010]);
    db.prepare(`INSERT INTO settings (key, value) VALUES ('kept', '"yes"')`).run();
    const before = { schema: schemaOf(db), settings: db.prepare('SELECT * FROM settings').all() };

    expect(() => runMigrations(db, 30, [migration0010, addExtra, failing])).toThrow('boom in 30');
    expect(db.pragma('user_version', { simple: true })).toBe(10);
    expect({ schema: schemaOf(db), settings: db.prepare('SELECT * FROM settings').all() }).toEqual(before);
    expect(db.inTransaction).toBe(false);
  });

  it('applies the pending migrations up to the target and reports them', () => {
    const db = raw();
    expect(runMigrations(db, 10, [migration0010, addExtra])).toEqual([10]);
    expect(runMigrations(db, 20, [migration0010, addExtra])).toEqual([20]);
    expect(runMigrations(db, 20, [migration0010, addExtra])).toEqual([]);
    expect(db.pragma('user_version', { simple: true })).toBe(20);
    expect(tablesOf(db)).toContain('extra');
  });

  it('re-opening a migrated database is idempotent', () => {
    const db = track(openDatabase(file));
    db.transaction((w) => w.prepare(`INSERT INTO settings (key, value) VALUES ('a', '1')`).run());
    const schema = schemaOf(db.read);
    closeAll();

    const again = track(openDatabase(file));
    expect(again.read.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    expect(schemaOf(again.read)).toEqual(schema);
    expect(again.read.prepare('SELECT value FROM settings WHERE key = ?').pluck().get('a')).toBe('1');
    expect(runMigrations(again.read)).toEqual([]);
  });
});

describe('openDatabase', () => {
  it('refuses a database from a newer Gatehouse, telling the user to upgrade, and leaves it alone', () => {
    track(openDatabase(file));
    closeAll();
    raw().pragma(`user_version = ${LATEST_VERSION + 1000}`);
    closeAll();
    const bytes = fs.readFileSync(file);

    for (const readonly of [false, true]) {
      let error: unknown;
      try {
        track(openDatabase(file, { readonly }));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DatabaseFromFutureError);
      expect(error).toMatchObject({ found: LATEST_VERSION + 1000, supported: LATEST_VERSION });
      expect((error as Error).message).toMatch(/written by a newer Gatehouse .*Upgrade Gatehouse/);
    }
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  describe('runs the integrity check', () => {
    /** A closed site database (so everything is in the main file) and where a table's root page is. */
    function siteFile(): { pageSize: number; rootOf: (table: string) => number } {
      const db = track(openDatabase(file));
      db.transaction((w: WriteDb) => {
        w.prepare(`INSERT INTO site VALUES (1, 'site-3f9c2a7e', 'GH1', 'Harbour Office', 'UTC', 'now', 'now')`).run();
        w.prepare(`INSERT INTO settings (key, value) VALUES ('a', '1'), ('b', '2')`).run();
      });
      const pageSize = db.read.pragma('page_size', { simple: true }) as number;
      const roots = new Map(db.read.prepare(`SELECT name, rootpage FROM sqlite_schema`).raw().all() as Array<[string, number]>);
      closeAll();
      return { pageSize, rootOf: (t) => roots.get(t)! };
    }

    it('refuses a damaged page header of a small table (SQLite throws from the check itself)', () => {
      const { pageSize, rootOf } = siteFile();
      const bytes = fs.readFileSync(file);
      const start = (rootOf('settings') - 1) * pageSize;
      for (let i = start; i < start + 8; i++) bytes[i]! ^= 0xff;
      fs.writeFileSync(file, bytes);
      expect(() => openDatabase(file)).toThrow(DatabaseCorruptError);
      expect(() => openDatabase(file)).toThrow(/failed its integrity check: database disk image is malformed/);
    });

    it('refuses a row that no longer matches its index (the check reports it)', () => {
      const { pageSize, rootOf } = siteFile();
      const bytes = fs.readFileSync(file);
      const page = bytes.subarray((rootOf('site') - 1) * pageSize, rootOf('site') * pageSize);
      const at = page.indexOf('site-3f9c2a7e');
      expect(at).toBeGreaterThan(0);
      page[at + 5] = 'X'.charCodeAt(0); // same length, so the record stays well-formed
      fs.writeFileSync(file, bytes);
      expect(() => openDatabase(file)).toThrow(DatabaseCorruptError);
      expect(() => openDatabase(file)).toThrow(/missing from index sqlite_autoindex_site/);
    });
  });

  it('refuses a file of random bytes as not a Gatehouse database', () => {
    fs.writeFileSync(file, randomBytes(64 * 1024));
    const bytes = fs.readFileSync(file);
    for (const readonly of [false, true]) {
      expect(() => openDatabase(file, { readonly })).toThrow(NotAGatehouseDatabaseError);
      expect(() => openDatabase(file, { readonly })).toThrow(`${file} is not a Gatehouse database (file is not a database)`);
    }
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });
});

describe('migration 0010 (initial)', () => {
  let w: WriteDb;
  beforeEach(() => {
    const db = migratedTo(10);
    // Statements run outside a transaction here: each one is its own, so a refused one changes nothing.
    w = db.read as WriteDb;
  });

  const now = "'2024-01-01T00:00:00Z'";
  const run = (sql: string, ...params: unknown[]) => w.prepare(sql).run(...params);
  const count = (table: string) => w.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  const addUser = (id: string) => run(`INSERT INTO users (id, user_id, created_at, updated_at) VALUES (?, ?, ${now}, ${now})`, id, `p-${id}`);
  const addTag = (id: string, number: string, userId: string | null = null) =>
    run(`INSERT INTO tags (id, tag_number, added_date, user_id, created_at, updated_at) VALUES (?, ?, ${now}, ?, ${now}, ${now})`, id, number, userId);
  const addLock = (id: string, limit = 360) =>
    run(`INSERT INTO locks (id, customer_reference, offline_access_keys_limit, created_at, updated_at) VALUES (?, ?, ?, ${now}, ${now})`, id, `Door ${id}`, limit);
  const addGroup = (id: string) => run(`INSERT INTO access_groups (id, customer_reference, created_at, updated_at) VALUES (?, ?, ${now}, ${now})`, id, id);

  it('creates the site model, operators, tokens, access tables and the audit trail', () => {
    expect(tablesOf(w)).toEqual(
      [
        'access_group_locks',
        'access_group_users',
        'access_groups',
        'access_tables',
        'access_tokens',
        'api_clients',
        'entries',
        'holiday_calendars',
        'holiday_dates',
        'iqs',
        'lock_eom_schedules',
        'lock_offline_keys',
        'locks',
        'operator_log',
        'operators',
        'settings',
        'site',
        'tags',
        'time_schedules',
        'users',
      ].sort(),
    );
    expect(w.prepare(`SELECT name FROM sqlite_schema WHERE type = 'trigger'`).pluck().all()).toEqual(['lock_offline_keys_limit']);
    // Every table is STRICT.
    const strict = w.prepare(`SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND strict = 0 AND name NOT LIKE 'sqlite_%'`).all();
    expect(strict).toEqual([]);
  });

  it('keeps the site a singleton', () => {
    run(`INSERT INTO site VALUES (1, 's1', 'GH1', 'Site', 'UTC', ${now}, ${now})`);
    expect(() => run(`INSERT INTO site VALUES (2, 's2', 'GH2', 'Other', 'UTC', ${now}, ${now})`)).toThrow(/CHECK constraint failed/);
  });

  it('rejects values outside the enums and booleans other than 0 and 1', () => {
    const iq = (state: string) =>
      run(`INSERT INTO iqs (id, mac, customer_reference, time_zone, data_sync_state, created_at, updated_at) VALUES (?, ?, 'IQ', 'UTC', ?, ${now}, ${now})`, `iq-${state}`, `mac-${state}`, state);
    iq('synced');
    expect(() => iq('bogus')).toThrow(/CHECK constraint failed: data_sync_state IN/);
    addLock('l1');
    expect(() => run(`UPDATE locks SET locked_state = 'ajar' WHERE id = 'l1'`)).toThrow(/CHECK constraint failed: locked_state IN/);
    expect(() => run(`UPDATE locks SET battery_level = 'empty' WHERE id = 'l1'`)).toThrow(/CHECK constraint failed/);
    expect(() => run(`UPDATE locks SET tamper = 2 WHERE id = 'l1'`)).toThrow(/CHECK constraint failed: tamper IN/);
    expect(() => run(`UPDATE locks SET offline_access_keys_limit = 10001 WHERE id = 'l1'`)).toThrow(/CHECK constraint failed/);
    addUser('u1');
    expect(() => run(`UPDATE users SET kind = 'alien' WHERE id = 'u1'`)).toThrow(/CHECK constraint failed: kind IN/);
    expect(() =>
      run(`INSERT INTO operators (id, username, display_name, role, password_hash, created_at, updated_at) VALUES ('o1', 'root', 'Root', 'root', 'x', ${now}, ${now})`),
    ).toThrow(/CHECK constraint failed: role IN/);
    expect(() => run(`INSERT INTO access_tokens VALUES ('h', 'robot', 'x', 0, 1)`)).toThrow(/CHECK constraint failed: subject_kind IN/);
    // STRICT: a wrong type is an error, not a silent conversion.
    expect(() => run(`UPDATE locks SET offline_access_keys_limit = 'many' WHERE id = 'l1'`)).toThrow(/cannot store TEXT value in INTEGER column/);
  });

  it('accepts only ten-digit tag numbers', () => {
    addTag('t1', '0012345678');
    for (const bad of ['123456789', '12345678901', '12345abcde', '12345 6789', '-123456789', '１２３４５６７８９０']) {
      expect(() => addTag(`t-${bad}`, bad), bad).toThrow(/CHECK constraint failed: length\(tag_number\) = 10/);
    }
    expect(() => addTag('t2', '0012345678')).toThrow(/UNIQUE constraint failed: tags.tag_number/);
    expect(count('tags')).toBe(1);
  });

  it('cascades deletes from an access group to its schedules, locks and members', () => {
    addGroup('g1');
    addGroup('g2');
    addLock('l1');
    addUser('u1');
    for (const [id, group] of [['s1', 'g1'], ['s2', 'g1'], ['s3', 'g2']]) {
      run(`INSERT INTO time_schedules (id, access_group_id, start_time, end_time, created_at, updated_at) VALUES (?, ?, '08:00', '18:00', ${now}, ${now})`, id, group);
    }
    run(`INSERT INTO access_group_locks VALUES ('g1', 'l1')`);
    run(`INSERT INTO access_group_users VALUES ('g1', 'u1')`);

    run(`DELETE FROM access_groups WHERE id = 'g1'`);
    expect(w.prepare('SELECT id FROM time_schedules').pluck().all()).toEqual(['s3']);
    expect(count('access_group_locks') + count('access_group_users')).toBe(0);
    expect(count('locks') + count('users')).toBe(2);
    expect(() =>
      run(`INSERT INTO time_schedules (id, access_group_id, start_time, end_time, created_at, updated_at) VALUES ('s4', 'g1', '08:00', '18:00', ${now}, ${now})`),
    ).toThrow(/FOREIGN KEY constraint failed/);
  });

  it("sets a tag's user to NULL when the user is deleted, and refuses an unknown user", () => {
    addUser('u1');
    addTag('t1', '0000000001', 'u1');
    addTag('t2', '0000000002', 'u1');
    run(`DELETE FROM users WHERE id = 'u1'`);
    expect(w.prepare('SELECT id, user_id FROM tags ORDER BY id').all()).toEqual([
      { id: 't1', user_id: null },
      { id: 't2', user_id: null },
    ]);
    expect(() => addTag('t3', '0000000003', 'nobody')).toThrow(/FOREIGN KEY constraint failed/);
  });

  it('holds the offline-key slot limit of each lock with a trigger', () => {
    addLock('small', 2);
    addLock('big');
    for (const n of [1, 2, 3]) addTag(`t${n}`, `000000000${n}`);
    const addKey = (lock: string, tag: string) => run(`INSERT INTO lock_offline_keys VALUES (?, ?, ${now})`, lock, tag);
    addKey('small', 't1');
    addKey('small', 't2');
    expect(() => addKey('small', 't3')).toThrow('offline_access_keys_limit reached');
    addKey('big', 't3'); // the limit is per lock
    run(`DELETE FROM lock_offline_keys WHERE lock_id = 'small' AND tag_id = 't1'`);
    addKey('small', 't3');
    expect(count('lock_offline_keys')).toBe(3);
    // Deleting a tag or a lock frees its keys.
    run(`DELETE FROM tags WHERE id = 't3'`);
    run(`DELETE FROM locks WHERE id = 'small'`);
    expect(count('lock_offline_keys')).toBe(0);
  });

  it('keeps one audit entry per source event', () => {
    const entry = (eventId: string) =>
      run(`INSERT INTO entries (utc_ms, local_date_time, event_category, source, source_event_id, received_ms) VALUES (1, 'x', 'access', 'iq-1', ?, 1)`, eventId);
    entry('e1');
    expect(() => entry('e1')).toThrow(/UNIQUE constraint failed: entries.source, entries.source_event_id/);
  });
});

describe('opening a file that belongs to another application', () => {
  it('refuses to lay the schema over foreign tables and leaves the file alone', async () => {
    const { mkdtempSync, rmSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const Database = (await import('better-sqlite3')).default;
    const { openDatabase, NotAGatehouseDatabaseError } = await import('../db.ts');
    const dir = mkdtempSync(join(tmpdir(), 'gh-foreign-'));
    try {
      const file = join(dir, 'recipes.db');
      const other = new Database(file);
      other.exec("CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup')");
      other.close();
      const before = readFileSync(file);
      expect(() => openDatabase(file)).toThrow(NotAGatehouseDatabaseError);
      expect(readFileSync(file).equals(before)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
