// Numbered schema migrations, tracked in PRAGMA user_version. Versions go in steps of 10 so a hotfix
// can slot in between. All pending migrations run in one transaction: a failure leaves the file as it
// was. A database from a newer Gatehouse is refused before any of this runs (see ../db.ts).
import type Database from 'better-sqlite3';
import { migration0010 } from './0010-initial.ts';
import { migration0020 } from './0020-audit-trail.ts';
import { migration0030 } from './0030-people-search.ts';
import { migration0040 } from './0040-hub-keys.ts';
import { migration0050 } from './0050-card-encoding.ts';
import { migration0060 } from './0060-cloud-sync.ts';
import { migration0061 } from './0061-cloud-account.ts';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [migration0010, migration0020, migration0030, migration0040, migration0050, migration0060, migration0061];

for (let i = 1; i < MIGRATIONS.length; i++) {
  if (MIGRATIONS[i]!.version <= MIGRATIONS[i - 1]!.version) {
    throw new Error(`Migrations out of order: ${MIGRATIONS[i - 1]!.version} then ${MIGRATIONS[i]!.version}`);
  }
}

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** `migrations` is for tests that need a failing or extra step; the app always runs `MIGRATIONS`. */
export function runMigrations(db: Database.Database, target = LATEST_VERSION, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = migrations.filter((m) => m.version > current && m.version <= target);
  if (pending.length === 0) return [];
  db.transaction(() => {
    for (const m of pending) {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }
  }).immediate();
  return pending.map((m) => m.version);
}
