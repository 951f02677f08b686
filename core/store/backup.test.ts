import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureSite } from '../host/first-run.ts';
import { backupDatabase, inspectBackup, restoreDatabase } from './backup.ts';
import {
  DatabaseCorruptError,
  DatabaseFromFutureError,
  NotAGatehouseDatabaseError,
  fullIntegrityCheck,
  openDatabase,
  type ReadDb,
  type SiteDatabase,
  type WriteDb,
} from './db.ts';
import { LATEST_VERSION } from './migrations/index.ts';
import { getSite, updateSite } from './repos/site.ts';

let dir: string;
const open: SiteDatabase[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-'));
});
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const at = (name: string) => path.join(dir, name);

function track(db: SiteDatabase): SiteDatabase {
  open.push(db);
  return db;
}

function insertUser(w: WriteDb, id: string): void {
  w.prepare(`INSERT INTO users (id, user_id, first_name, last_name, created_at, updated_at) VALUES (?, ?, ?, ?, 'now', 'now')`).run(
    id,
    `p-${id}`,
    `First ${id}`,
    `Last ${id}`,
  );
}

/** A site with an owner and `users` users: with 2000 users the users table spans about 50 pages. */
function makeSite(file: string, users: number): SiteDatabase {
  const db = track(openDatabase(file));
  ensureSite(db, { name: 'Harbour Office', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
  db.transaction((w) => {
    for (let i = 0; i < users; i++) insertUser(w, `u${i}`);
  });
  return db;
}

function addEntries(db: SiteDatabase, n: number): void {
  db.transaction((w) => {
    // Raw rows are enough here: these tests are about the file, not the hash chain.
    w.prepare("INSERT OR IGNORE INTO audit_refs (ref, kind, id) VALUES (1, 'source', 'iq-1')").run();
    const ins = w.prepare(`INSERT INTO entries (utc_ms, utc_offset_min, event_category, event_detail, source_ref, source_event_id, received_ms, personal_digest, hash)
                           VALUES (?, 60, 'lock_opened', NULL, 1, ?, ?, x'00', x'00')`);
    for (let i = 0; i < n; i++) ins.run(1_700_000_000_000 + i, `ev-${i}`, 1_700_000_000_000 + i);
  });
}

const userIds = (db: ReadDb) => db.prepare('SELECT id FROM users ORDER BY pk').pluck().all() as string[];

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, but it returned normally');
}

/** A copy of `src` with `mutate` applied to its bytes. */
function variant(src: string, name: string, mutate: (b: Buffer) => Buffer): string {
  const f = at(name);
  fs.writeFileSync(f, mutate(fs.readFileSync(src)));
  return f;
}

/** XORs `len` bytes in the middle of the middle leaf page of `table` (found with the dbstat table). */
function corruptMiddleOfPage(file: string, table: string, len = 64): void {
  const raw = new Database(file, { readonly: true, fileMustExist: true });
  const pageSize = raw.pragma('page_size', { simple: true }) as number;
  const leaves = raw.prepare(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno`).pluck().all(table) as number[];
  raw.close();
  expect(leaves.length).toBeGreaterThan(10);
  const page = leaves[Math.floor(leaves.length / 2)]!;
  const bytes = fs.readFileSync(file);
  const start = (page - 1) * pageSize + pageSize / 2 - len / 2;
  for (let i = start; i < start + len; i++) bytes[i]! ^= 0xff;
  fs.writeFileSync(file, bytes);
}

describe('backupDatabase', () => {
  it('makes a consistent, openable copy while a writer keeps writing', async () => {
    const file = at('site.db');
    const dest = at('backup.db');
    const db = makeSite(file, 2000);
    const site = getSite(db.read)!;

    // Transaction i adds user during-i and stamps an existing user spread over the table. A consistent
    // copy holds exactly transactions 0..k-1 for some k: all of their effects, none of the later ones.
    const stamped = (i: number) => `u${(i * 37) % 2000}`;
    let writes = 0;
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        const i = writes++;
        db.transaction((w) => {
          insertUser(w, `during-${i}`);
          w.prepare('UPDATE users SET notes = ? WHERE id = ?').run(`tx-${i}`, stamped(i));
        });
        await new Promise((r) => setImmediate(r));
      }
    })();
    const progress: Array<[number, number]> = [];
    const result = await backupDatabase(db, dest, (done, total) => progress.push([done, total]), { pagesPerStep: 2 });
    stop = true;
    await writer;

    expect(writes).toBeGreaterThan(10);
    expect(progress.length).toBeGreaterThan(10);
    expect(progress.at(-1)).toEqual([result.pages, result.pages]);
    // Same-connection writes never restart the copy: every step advanced.
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);
    expect(result).toEqual({ file: dest, bytes: fs.statSync(dest).size, pages: expect.any(Number) });
    expect(result.bytes).toBe(result.pages * 4096);

    const copy = track(openDatabase(dest, { readonly: true }));
    expect(fullIntegrityCheck(copy.read)).toEqual([]);
    expect(getSite(copy.read)).toEqual(site);
    const during = copy.read.prepare(`SELECT id FROM users WHERE id LIKE 'during-%' ORDER BY pk`).pluck().all() as string[];
    const k = during.length;
    expect(k).toBeGreaterThan(0);
    expect(during).toEqual(Array.from({ length: k }, (_, i) => `during-${i}`));
    const notes = copy.read.prepare('SELECT id, notes FROM users WHERE notes IS NOT NULL ORDER BY id').all();
    const expected = Array.from({ length: k }, (_, i) => ({ id: stamped(i), notes: `tx-${i}` })).sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(notes).toEqual(expected);
    expect(userIds(copy.read)).toEqual(userIds(db.read).slice(0, 2000 + k));

    // One self-contained file: rollback journal, nothing left beside it.
    expect(copy.read.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('backup')).sort()).toEqual(['backup.db']);
  });

  it('finishes under a steady write load from another connection (the server, when the CLI backs up)', async () => {
    const server = makeSite(at('site.db'), 2000);
    const cli = track(openDatabase(at('site.db')));
    let writes = 0;
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        const id = `during-${writes++}`;
        server.transaction((w) => insertUser(w, id));
        await new Promise((r) => setImmediate(r));
      }
    })();
    const done: number[] = [];
    const result = await backupDatabase(cli, at('backup.db'), (d) => done.push(d), { pagesPerStep: 2 });
    stop = true;
    await writer;

    expect(done.some((d, i) => i > 1 && d <= done[i - 1]!)).toBe(true); // SQLite did restart the copy
    expect(result.pages).toBeGreaterThan(40);
    const copy = track(openDatabase(at('backup.db'), { readonly: true }));
    const ids = userIds(copy.read);
    expect(ids).toEqual(userIds(server.read).slice(0, ids.length));
    expect(ids.length).toBeGreaterThanOrEqual(2000);
  });

  it('replaces an older backup and a crashed partial only with a complete one', async () => {
    const db = makeSite(at('site.db'), 10);
    fs.writeFileSync(at('backup.db'), 'an older backup');
    fs.writeFileSync(at('backup.db.partial'), 'left by a crash');
    await backupDatabase(db, at('backup.db'));
    expect(inspectBackup(at('backup.db')).counts.users).toBe(10);
    expect(fs.existsSync(at('backup.db.partial'))).toBe(false);
  });

  it('leaves neither the final name nor a partial file when the backup fails', async () => {
    const db = makeSite(at('site.db'), 2000);
    const failing = backupDatabase(db, at('backup.db'), () => db.close(), { pagesPerStep: 5 });
    await expect(failing).rejects.toThrow(/not open/);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('backup'))).toEqual([]);
  });

  it('refuses a destination in a missing directory or onto the database itself', async () => {
    const db = makeSite(at('site.db'), 1);
    await expect(backupDatabase(db, at('no/such/dir/backup.db'))).rejects.toThrow(/does not exist/);
    await expect(backupDatabase(db, at('site.db'))).rejects.toThrow(/onto itself/);
  });
});

describe('inspectBackup', () => {
  it('summarises a backup without changing anything beside it', async () => {
    const db = makeSite(at('site.db'), 25);
    addEntries(db, 3);
    const site = getSite(db.read)!;
    await backupDatabase(db, at('backup.db'));
    const before = fs.readFileSync(at('backup.db'));
    expect(inspectBackup(at('backup.db'))).toEqual({
      schemaVersion: LATEST_VERSION,
      siteName: 'Harbour Office',
      siteId: site.id,
      counts: { users: 25, tags: 0, locks: 0, iqs: 0, accessGroups: 0, operators: 1, entries: 3 },
    });
    expect(fs.readFileSync(at('backup.db')).equals(before)).toBe(true);
  });

  it('leaves no -wal/-shm behind when the file is a WAL-mode database (a copied site.db)', () => {
    makeSite(at('site.db'), 5);
    open.splice(0).forEach((d) => d.close());
    expect(fs.readFileSync(at('site.db'))[18]).toBe(2); // the header says WAL
    expect(inspectBackup(at('site.db')).counts.users).toBe(5);
    expect(fs.readdirSync(dir)).toEqual(['site.db']);
  });

  it('accepts a database with no site yet', async () => {
    const db = track(openDatabase(at('site.db')));
    await backupDatabase(db, at('backup.db'));
    expect(inspectBackup(at('backup.db'))).toMatchObject({ siteName: null, siteId: null, counts: { users: 0 } });
  });
});

describe('refusing bad backups', () => {
  let good: string;
  beforeEach(async () => {
    const db = makeSite(at('site.db'), 2000);
    addEntries(db, 2000);
    good = at('good.db');
    await backupDatabase(db, good);
    open.splice(0).forEach((d) => d.close());
  });

  /** inspectBackup and restoreDatabase refuse it with `type`, naming the file; the target is untouched. */
  function expectRefused(file: string, type: new (...args: never[]) => Error, message: RegExp): Error {
    const target = at('site.db');
    const targetBytes = fs.readFileSync(target);
    const e = thrown(() => inspectBackup(file));
    expect(e).toBeInstanceOf(type);
    expect(e.message).toContain(file);
    expect(e.message).toMatch(message);
    const r = thrown(() => restoreDatabase(file, target));
    expect(r).toBeInstanceOf(type);
    expect(fs.readFileSync(target).equals(targetBytes)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.includes('restore'))).toEqual([]);
    return e;
  }

  it('a missing file', () => {
    const e = thrown(() => inspectBackup(at('nope.db')));
    expect(e.message).toBe(`Backup file not found: ${at('nope.db')}`);
    expect(() => restoreDatabase(at('nope.db'), at('site.db'))).toThrow(/not found/);
  });

  it('a text file', () => {
    const f = at('notes.txt');
    fs.writeFileSync(f, 'gate codes:\n front 1234\n'.repeat(200));
    expectRefused(f, NotAGatehouseDatabaseError, /is not a Gatehouse database \(file is not a database\)/);
    expect(() => openDatabase(f)).toThrow(NotAGatehouseDatabaseError);
  });

  it('an empty file and a database of some other application', () => {
    fs.writeFileSync(at('empty.db'), '');
    expectRefused(at('empty.db'), NotAGatehouseDatabaseError, /no Gatehouse schema/);
    const other = new Database(at('other.db'));
    other.exec('CREATE TABLE recipes (name TEXT)');
    other.close();
    expectRefused(at('other.db'), NotAGatehouseDatabaseError, /no Gatehouse schema|Gatehouse did not create/);
  });

  it('a database from a newer Gatehouse', () => {
    const f = variant(good, 'future.db', (b) => b);
    const raw = new Database(f);
    raw.pragma('user_version = 9999');
    raw.close();
    const e = expectRefused(f, DatabaseFromFutureError, /schema version 9999.*Upgrade Gatehouse/);
    expect(e).toMatchObject({ found: 9999, supported: LATEST_VERSION });
    expect(() => openDatabase(f)).toThrow(DatabaseFromFutureError);
  });

  it('a truncated file', () => {
    const f = variant(good, 'truncated.db', (b) => b.subarray(0, Math.floor(b.length / 2)));
    expectRefused(f, DatabaseCorruptError, /failed its integrity check: database disk image is malformed/);
    // SQLite throws SQLITE_CORRUPT from the check itself here; openDatabase turns that into the same error.
    expect(() => openDatabase(f)).toThrow(DatabaseCorruptError);
  });

  it('flipped bytes in the middle of a users page', () => {
    const f = variant(good, 'corrupt.db', (b) => b);
    corruptMiddleOfPage(f, 'users');
    expectRefused(f, DatabaseCorruptError, /failed its integrity check/);
    expect(() => openDatabase(f, { readonly: true })).toThrow(DatabaseCorruptError);
  });

  it('flipped bytes in the audit trail, which a normal open does not check', () => {
    const f = variant(good, 'corrupt-audit.db', (b) => b);
    corruptMiddleOfPage(f, 'entries');
    track(openDatabase(f, { readonly: true })); // by design: entries are left to verify-audit
    open.splice(0).forEach((d) => d.close());
    expectRefused(f, DatabaseCorruptError, /failed its integrity check/);
  });
});

describe('restoreDatabase', () => {
  it('round-trips: changes made after the backup are gone, the previous file is kept', async () => {
    const file = at('site.db');
    const db = makeSite(file, 50);
    const site = getSite(db.read)!;
    await backupDatabase(db, at('backup.db'));
    db.transaction((w) => {
      insertUser(w, 'after-backup');
      w.prepare(`DELETE FROM users WHERE id = 'u1'`).run();
      updateSite(w, { customer_reference: 'Renamed' }, 'later');
    });
    const changed = userIds(db.read);
    db.close();

    const { previous } = restoreDatabase(at('backup.db'), file);
    expect(previous).toMatch(/site\.db\.before-restore-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    expect(fs.existsSync(at('site.db.restore-tmp'))).toBe(false);

    const restored = track(openDatabase(file));
    expect(getSite(restored.read)).toEqual(site);
    expect(userIds(restored.read)).toEqual(Array.from({ length: 50 }, (_, i) => `u${i}`));
    expect(fullIntegrityCheck(restored.read)).toEqual([]);
    restored.transaction((w) => insertUser(w, 'after-restore')); // writable, back in WAL mode
    expect(restored.read.pragma('journal_mode', { simple: true })).toBe('wal');

    const kept = track(openDatabase(previous!, { readonly: true }));
    expect(getSite(kept.read)?.customer_reference).toBe('Renamed');
    expect(userIds(kept.read)).toEqual(changed);
  });

  it('moves a crashed target together with its WAL, so neither is lost nor replayed into the restore', async () => {
    const db = makeSite(at('site.db'), 5);
    await backupDatabase(db, at('backup.db'));
    db.read.pragma('wal_autocheckpoint = 0');
    db.transaction((w) => insertUser(w, 'only-in-wal'));
    // A copy of the live pair is what a power cut leaves behind.
    fs.mkdirSync(at('crashed'));
    const target = at('crashed/site.db');
    fs.copyFileSync(at('site.db'), target);
    fs.copyFileSync(at('site.db-wal'), `${target}-wal`);
    expect(fs.statSync(`${target}-wal`).size).toBeGreaterThan(0);

    const { previous } = restoreDatabase(at('backup.db'), target);
    expect(fs.readdirSync(at('crashed')).sort()).toEqual([path.basename(previous!), `${path.basename(previous!)}-wal`, 'site.db'].sort());

    const restored = track(openDatabase(target));
    expect(userIds(restored.read)).not.toContain('only-in-wal');
    const kept = track(openDatabase(previous!));
    expect(userIds(kept.read)).toContain('only-in-wal');
  });

  it('restores into a missing target', async () => {
    const db = makeSite(at('site.db'), 3);
    await backupDatabase(db, at('backup.db'));
    expect(restoreDatabase(at('backup.db'), at('new.db'))).toEqual({ previous: null });
    expect(userIds(track(openDatabase(at('new.db'))).read)).toEqual(['u0', 'u1', 'u2']);
  });

  it('refuses a backup with committed data still in a -wal beside it', async () => {
    makeSite(at('site.db'), 3).read.pragma('wal_autocheckpoint = 0');
    open[0]!.transaction((w) => insertUser(w, 'in-wal'));
    fs.copyFileSync(at('site.db'), at('copy.db'));
    fs.copyFileSync(at('site.db-wal'), at('copy.db-wal'));
    expect(() => restoreDatabase(at('copy.db'), at('target.db'))).toThrow(/copy\.db-wal/);
    expect(fs.existsSync(at('target.db'))).toBe(false);
  });
});
