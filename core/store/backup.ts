// Online backup and offline restore of the site database.
//
// A backup is made with SQLite's online backup API, a few pages per step, so the server keeps serving
// while it runs: writes made through the same connection between steps are copied into the backup as
// they happen, and the result is the database as of the last step. It is written under a temporary
// name and renamed into place only once it is complete and verified, so a crash never leaves a half
// backup under the final name.
//
// A restore swaps files and must run while no process has the database open (the CLI stops the server
// and holds the instance lock).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  DatabaseCorruptError,
  DatabaseFromFutureError,
  NotAGatehouseDatabaseError,
  fullIntegrityCheck,
  openDatabase,
  schemaVersion,
  type SiteDatabase,
} from './db.ts';

export interface BackupResult {
  file: string;
  bytes: number;
  pages: number;
}

export interface BackupOptions {
  /** Pages copied per step; the event loop runs between steps. Default 100 (400 KiB at 4 KiB pages). */
  pagesPerStep?: number;
}

export interface BackupInfo {
  schemaVersion: number;
  siteName: string | null;
  siteId: string | null;
  counts: { users: number; tags: number; locks: number; iqs: number; accessGroups: number; operators: number; entries: number };
}

/** The largest step better-sqlite3 accepts: the whole database. */
const ALL_PAGES = 0x7fffffff;

/** SQLite's companion files of a database; a stale one must never sit next to a different main file. */
const SIDECARS = ['-wal', '-shm', '-journal'] as const;

export async function backupDatabase(
  db: SiteDatabase,
  destFile: string,
  onProgress?: (done: number, total: number) => void,
  opts: BackupOptions = {},
): Promise<BackupResult> {
  const dest = path.resolve(destFile);
  if (dest === path.resolve(db.file)) throw new Error(`Cannot back up ${db.file} onto itself`);
  if (!fs.existsSync(path.dirname(dest))) throw new Error(`Cannot write backup ${dest}: directory ${path.dirname(dest)} does not exist`);

  const raw = db.read as unknown as Database.Database;
  const version = schemaVersion(db.read);
  // At least 1: better-sqlite3 clamps to 0 and a step of 0 pages would never finish.
  const pagesPerStep = Math.max(1, Math.floor(opts.pagesPerStep ?? 100));
  const tmp = `${dest}.partial`;
  removeWithSidecars(tmp); // leftovers of a backup that crashed

  let lastDone = -1;
  let restarted = false;
  try {
    const { totalPages } = await raw.backup(tmp, {
      progress: ({ totalPages, remainingPages }) => {
        const done = totalPages - remainingPages;
        // A write through another connection (the server, when the CLI makes the backup) restarts the
        // copy from page 1, so under a steady write load it would never finish. On no progress, copy the
        // rest in one step: in WAL mode that step reads one snapshot and does not block the writer.
        if (done <= lastDone) restarted = true;
        lastDone = done;
        onProgress?.(done, totalPages);
        return restarted ? ALL_PAGES : pagesPerStep;
      },
    });
    onProgress?.(totalPages, totalPages);

    // The copy carries the source's WAL flag in its header, so opening it (even read-only) would create
    // -wal/-shm files next to it. Switch it to a rollback journal: a backup is one self-contained file.
    const conn = new Database(tmp, { fileMustExist: true });
    try {
      conn.pragma('journal_mode = DELETE');
    } finally {
      conn.close();
    }
    fsyncFile(tmp);

    let info: BackupInfo;
    try {
      info = inspectBackup(tmp);
    } catch (e) {
      throw new Error(`Backup ${dest} failed verification: ${(e as Error).message}`, { cause: e });
    }
    if (info.schemaVersion !== version) {
      throw new Error(`Backup ${dest} failed verification: schema version ${info.schemaVersion}, the database has ${version}`);
    }

    fs.renameSync(tmp, dest);
    fsyncDir(path.dirname(dest));
    return { file: dest, bytes: fs.statSync(dest).size, pages: totalPages };
  } catch (e) {
    removeWithSidecars(tmp);
    throw e;
  }
}

/**
 * Checks that `file` is a whole Gatehouse database this version can open, and summarises it. Opens it
 * read-only and checks every table, the audit trail included (unlike a normal open): a backup is only
 * worth restoring if all of it is sound. Errors name the file.
 */
export function inspectBackup(file: string): BackupInfo {
  if (!fs.existsSync(file)) throw new Error(`Backup file not found: ${file}`);
  if (!fs.statSync(file).isFile()) throw new NotAGatehouseDatabaseError(file, 'not a regular file');

  // A WAL-mode file makes even a read-only connection create -wal/-shm (left empty, since it cannot
  // write); remove the ones that were not there before, so inspecting leaves no trace.
  const createdSidecars = SIDECARS.map((s) => file + s).filter((f) => !fs.existsSync(f));
  let db: SiteDatabase | undefined;
  try {
    // openDatabase read-only: refuses a non-database, a newer schema, and damage outside the audit trail.
    db = openDatabase(file, { readonly: true });
    const version = schemaVersion(db.read);
    const hasSite = db.read.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'site'`).get() !== undefined;
    if (version === 0 || !hasSite) throw new NotAGatehouseDatabaseError(file, 'it has no Gatehouse schema');
    const problems = fullIntegrityCheck(db.read);
    if (problems.length) throw new DatabaseCorruptError(problems);

    const site = db.read.prepare('SELECT id, customer_reference FROM site WHERE singleton = 1').get() as
      | { id: string; customer_reference: string }
      | undefined;
    const count = (table: string) => db!.read.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    return {
      schemaVersion: version,
      siteName: site?.customer_reference ?? null,
      siteId: site?.id ?? null,
      counts: {
        users: count('users'),
        tags: count('tags'),
        locks: count('locks'),
        iqs: count('iqs'),
        accessGroups: count('access_groups'),
        operators: count('operators'),
        entries: count('entries'),
      },
    };
  } catch (e) {
    throw namingFile(file, e);
  } finally {
    db?.close();
    for (const f of createdSidecars) fs.rmSync(f, { force: true });
  }
}

/**
 * Replaces `targetFile` with a validated copy of `backupFile`, keeping the current database (and its
 * -wal/-shm, which hold committed data) as `<target>.before-restore-<timestamp>`. The target must not
 * be open anywhere. An older-schema backup is fine: the next openDatabase migrates it.
 */
export function restoreDatabase(backupFile: string, targetFile: string): { previous: string | null } {
  if (path.resolve(backupFile) === path.resolve(targetFile)) throw new Error(`Cannot restore ${backupFile} onto itself`);
  inspectBackup(backupFile);
  // Only the main file is copied: committed data still in a -wal next to it would be silently lost.
  if (nonEmpty(`${backupFile}-wal`)) {
    throw new Error(`Backup file ${backupFile} has a non-empty ${path.basename(backupFile)}-wal beside it (copied from a running database?); make a backup with 'gatehouse backup' instead`);
  }

  const tmp = `${targetFile}.restore-tmp`;
  removeWithSidecars(tmp);
  fs.copyFileSync(backupFile, tmp);
  fsyncFile(tmp);

  let previous: string | null = null;
  if (fs.existsSync(targetFile)) {
    // A hard link keeps the current file under its own name until the final rename replaces it, so
    // there is no moment without a database at the target path.
    previous = `${targetFile}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.linkSync(targetFile, previous);
  }
  // Sidecars move even without a main file: SQLite would replay a stale WAL or journal into the restored file.
  for (const s of SIDECARS) {
    if (!fs.existsSync(targetFile + s)) continue;
    if (previous) fs.renameSync(targetFile + s, previous + s);
    else fs.rmSync(targetFile + s);
  }
  fs.renameSync(tmp, targetFile);
  fsyncDir(path.dirname(path.resolve(targetFile)));
  return { previous };
}

/** Names the file in errors from openDatabase and SQLite, whose messages speak of "the database". */
function namingFile(file: string, e: unknown): unknown {
  const code = (e as { code?: unknown }).code;
  // The full check can hit a damaged audit-trail page, which SQLite reports by throwing.
  if (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT')) e = new DatabaseCorruptError([(e as Error).message]);
  else if (typeof code === 'string' && code.startsWith('SQLITE_')) return new Error(`Cannot read ${file}: ${(e as Error).message}`, { cause: e });
  if ((e instanceof DatabaseFromFutureError || e instanceof DatabaseCorruptError) && !e.message.includes(file)) e.message = `${file}: ${e.message}`;
  return e;
}

function removeWithSidecars(file: string): void {
  for (const f of [file, ...SIDECARS.map((s) => file + s)]) fs.rmSync(f, { force: true });
}

function nonEmpty(f: string): boolean {
  return fs.existsSync(f) && fs.statSync(f).size > 0;
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes renames durable. Windows cannot open a directory for fsync; there the rename is left to NTFS. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // best effort (see above)
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
