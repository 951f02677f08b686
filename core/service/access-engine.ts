// Keeps the in-memory access snapshot and the compiled tables of every IQ in step with the database.
// After each committed command it refreshes what the command touched: people and tags are patched
// record by record; groups recompile the IQs their locks are on; anything else (hubs, locks, calendars,
// the site's zone) reloads the snapshot and recompiles every IQ. Table versions are persisted so a hub
// can be told which version to enforce; at start-up everything is recompiled and compared, so a crash
// between a commit and the version update is repaired.
import { AccessCompiler } from '../access/table/compile.ts';
import type { AccessSnapshot } from '../access/snapshot.ts';
import type { AccessTable } from '../access/table/access-table.ts';
import { loadSnapshot, reloadGroups, reloadTags, reloadUsers } from '../store/access-snapshot-loader.ts';
import type { SiteDatabase } from '../store/db.ts';
import { recordAccessTable } from '../store/repos/access-tables.ts';
import type { ChangeSet } from './change-set.ts';

export interface TableVersion {
  iq_id: string;
  version: number;
  hash: string;
}

export class AccessEngine {
  private compiler!: AccessCompiler;

  constructor(
    private readonly db: SiteDatabase,
    private readonly now: () => number,
    private readonly onTableChanged: (v: TableVersion) => void = () => {},
  ) {
    this.reload();
  }

  get snapshot(): AccessSnapshot {
    return this.compiler.snapshot;
  }

  table(iqId: string): AccessTable | undefined {
    return this.compiler.table(iqId);
  }

  /** Reloads everything from the database and recompiles every IQ. */
  reload(): void {
    this.compiler = new AccessCompiler(loadSnapshot(this.db.read), this.now());
    this.compiler.compileAll();
    this.persist(this.compiler.allTables().keys());
  }

  apply(changes: ChangeSet): void {
    if (changes.has('site') || changes.has('iq') || changes.has('lock') || changes.has('holiday_calendar')) {
      this.reload();
      return;
    }
    const snap = this.compiler.snapshot;
    const touched = new Set<string>();
    if (changes.has('access_group')) {
      const groups = changes.ids('access_group');
      const iqsOf = (gid: string) => {
        const out = new Set<string>();
        for (const l of snap.groups.get(gid)?.lockIds ?? []) {
          const iq = snap.locks.get(l)?.iq_id;
          if (iq) out.add(iq);
        }
        return out;
      };
      const before = new Set([...groups].flatMap((g) => [...iqsOf(g)]));
      reloadGroups(this.db.read, snap, groups);
      const after = [...groups].flatMap((g) => [...iqsOf(g)]);
      for (const iq of this.compiler.recompileIqs(new Set([...before, ...after]))) touched.add(iq);
    }
    if (changes.has('user')) {
      reloadUsers(this.db.read, snap, changes.ids('user'));
      for (const iq of this.compiler.usersChanged(changes.ids('user'))) touched.add(iq);
    }
    if (changes.has('tag')) {
      reloadTags(this.db.read, snap, changes.ids('tag'));
      for (const iq of this.compiler.tagsChanged(changes.ids('tag'))) touched.add(iq);
    }
    this.persist(touched);
  }

  /** Starts a new validity window at a month boundary; call periodically. */
  tick(): void {
    if (this.compiler.advanceClock(this.now())) this.persist(this.compiler.allTables().keys());
  }

  private persist(iqIds: Iterable<string>): void {
    const ids = [...iqIds];
    if (ids.length === 0) return;
    const generated_at = new Date(this.now()).toISOString();
    const changed: TableVersion[] = [];
    this.db.transaction((w) => {
      for (const iq_id of ids) {
        const t = this.compiler.table(iq_id);
        if (!t) continue;
        const r = recordAccessTable(w, { iq_id, hash: t.hash, record_count: t.size, byte_size: t.byteSize, generated_at });
        if (r.changed) changed.push({ iq_id, version: r.version, hash: t.hash });
      }
    });
    for (const v of changed) this.onTableChanged(v);
  }
}
