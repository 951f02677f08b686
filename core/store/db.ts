// Opening the site database. One process holds the one writer connection; every command runs in one
// transaction on it. Handles are branded so a query function typed `ReadDb` cannot be handed a write by
// accident, and so the only way to write is through `transaction()`.
import Database from 'better-sqlite3';
import { runMigrations, LATEST_VERSION } from './migrations/index.ts';

type Raw = Database.Database;
export type ReadDb = Raw & { readonly __readable: unique symbol };
export type WriteDb = ReadDb & { readonly __writable: unique symbol };

export class DatabaseFromFutureError extends Error {
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `This database was written by a newer Gatehouse (schema version ${found}; this version understands up to ${supported}). ` +
        'Upgrade Gatehouse, or restore a backup made by this version.',
    );
    this.name = 'DatabaseFromFutureError';
  }
}

export class DatabaseCorruptError extends Error {
  constructor(readonly problems: string[]) {
    super(`The database failed its integrity check: ${problems.slice(0, 5).join('; ')}. Restore a backup (gatehouse restore FILE).`);
    this.name = 'DatabaseCorruptError';
  }
}

export class NotAGatehouseDatabaseError extends Error {
  constructor(file: string, cause: string) {
    super(`${file} is not a Gatehouse database (${cause})`);
    this.name = 'NotAGatehouseDatabaseError';
  }
}

/**
 * Tables checked at open. Big append-only tables (the audit trail) are left to `verify-audit` and the
 * periodic check so that opening a database with years of entries stays fast.
 */
const SKIP_INTEGRITY_AT_OPEN = new Set(['entries', 'incidents', 'entry_counts', 'audit_refs', 'audit_last_seen']);

export interface OpenOptions {
  /** Skip schema migration (used to inspect a file without changing it). */
  readonly?: boolean;
  /** Apply migrations up to this version only (migration tests). */
  targetVersion?: number;
}

export interface SiteDatabase {
  readonly file: string;
  readonly read: ReadDb;
  /** Runs fn in one IMMEDIATE transaction on the writer connection; rolls back when it throws. */
  transaction<T>(fn: (db: WriteDb) => T): T;
  close(): void;
}

export function openDatabase(file: string, opts: OpenOptions = {}): SiteDatabase {
  let raw: Raw;
  try {
    raw = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (e) {
    throw new NotAGatehouseDatabaseError(file, (e as Error).message);
  }
  try {
    raw.pragma('busy_timeout = 5000');
    raw.pragma('foreign_keys = ON');
    const version = raw.pragma('user_version', { simple: true }) as number;
    if (version > LATEST_VERSION) throw new DatabaseFromFutureError(version, LATEST_VERSION);
    if (version === 0) {
      // Never lay our schema over another application's SQLite file.
      const foreign = raw.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'`).get() as { n: number };
      if (foreign.n > 0) throw new NotAGatehouseDatabaseError(file, 'it already holds tables that Gatehouse did not create');
    }
    checkIntegrity(raw);
    if (!opts.readonly) {
      raw.pragma('journal_mode = WAL');
      // FULL: a commit is on disk when it returns, so whatever we acknowledge survives a power cut.
      raw.pragma('synchronous = FULL');
      // 64 MiB of page cache: the audit trail's indexes stay hot during ingest and queries.
      raw.pragma('cache_size = -65536');
      runMigrations(raw, opts.targetVersion ?? LATEST_VERSION);
    }
  } catch (e) {
    raw.close();
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') throw new NotAGatehouseDatabaseError(file, 'file is not a database');
    // A damaged b-tree page (or a truncated file) makes the check itself throw instead of reporting a row.
    if (code?.startsWith('SQLITE_CORRUPT')) throw new DatabaseCorruptError([(e as Error).message]);
    throw e;
  }
  const writer = raw as WriteDb;
  const tx = raw.transaction((fn: (db: WriteDb) => unknown) => fn(writer));
  return {
    file,
    read: raw as ReadDb,
    transaction<T>(fn: (db: WriteDb) => T): T {
      return tx.immediate(fn) as T;
    },
    close() {
      if (!raw.open) return;
      try {
        if (!opts.readonly) raw.pragma('optimize');
      } finally {
        raw.close();
      }
    },
  };
}

function checkIntegrity(raw: Raw): void {
  const tables = raw
    .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
    .pluck()
    .all() as string[];
  const problems: string[] = [];
  for (const t of tables) {
    if (SKIP_INTEGRITY_AT_OPEN.has(t)) continue;
    for (const row of raw.pragma(`integrity_check(${quoteId(t)})`) as Array<{ integrity_check: string }>) {
      if (row.integrity_check !== 'ok') problems.push(row.integrity_check);
    }
  }
  if (problems.length) throw new DatabaseCorruptError(problems);
}

/** Full integrity check of every table, the audit trail included. */
export function fullIntegrityCheck(db: ReadDb): string[] {
  return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).filter((r) => r !== 'ok');
}

export function quoteId(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RangeError(`Bad SQL identifier '${name}'`);
  return `"${name}"`;
}

const statementCache = new WeakMap<Raw, Map<string, Database.Statement>>();

/** A prepared statement, cached per connection. */
export function stmt(db: ReadDb, sql: string): Database.Statement {
  let cache = statementCache.get(db);
  if (!cache) statementCache.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  // pluck() changes the statement itself: without this, one caller's `stmt(sql).pluck()` would make
  // another caller of the same SQL get a bare value where it expects a row.
  else if (s.reader) s.pluck(false);
  return s;
}

export function schemaVersion(db: ReadDb): number {
  return db.pragma('user_version', { simple: true }) as number;
}
