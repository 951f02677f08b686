// Backup and restore of the whole database from the app (browser mode; docs/architecture.md, "Backup
// and restore from the app"):
//
//   GET  /api/backup                 an online backup (core/store/backup.ts) as gatehouse-<date>.db
//   POST /api/restore[?dry_run=true] a backup file as the body (application/octet-stream): checked with
//                                    inspectBackup; with dry_run only described, otherwise handed to the
//                                    host, which swaps the live database (RunningHost.restore)
//
// Both need the `backup` permission, checked like every contract call; a restore also needs an owner.
// Files are staged next to the database (same disk, which has room for it) and removed afterwards.
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError } from '../contract/errors.ts';
import type { Actor } from '../service/actor.ts';
import type { GatehouseService } from '../service/service.ts';
import { backupDatabase, inspectBackup, type BackupInfo } from '../store/backup.ts';
import { appendOperatorLog } from '../store/repos/operator-log.ts';

/** What the host did with a restored file. */
export interface RestoreOutcome {
  /** Where the replaced database was kept (in the data folder), or null when there was none. */
  previous: string | null;
}

/** Swaps the live database for `file` (already checked); the host's job (core/host/host.ts). */
export type RestoreHandler = (file: string, actor: Actor) => Promise<RestoreOutcome>;

export interface BackupRouteOptions {
  service: GatehouseService;
  actorOf(req: FastifyRequest): Actor;
  /** Absent where no host can swap the database (POST /api/restore then answers 503). */
  onRestore?: RestoreHandler;
  /** The largest backup POST /api/restore accepts; default 16 GiB. */
  maxRestoreBytes?: number;
}

/** What a backup holds, as the UI shows it before and after a restore. */
export interface BackupDescription {
  site_name: string | null;
  schema_version: number;
  counts: BackupInfo['counts'];
  bytes: number;
}

const BACKUP_TYPES = ['application/octet-stream', 'application/vnd.sqlite3', 'application/x-sqlite3'];

export function registerBackupRoutes(app: FastifyInstance, opts: BackupRouteOptions): void {
  const { service, actorOf } = opts;
  const maxBytes = opts.maxRestoreBytes ?? 16 * 1024 ** 3;
  /** Backups being copied; a restore waits for none (it closes the database they read). */
  let copying = 0;
  let restoring = false;
  const staged = (kind: string) => join(dirname(service.db.file), `.gatehouse-${kind}-${randomUUID()}.db`);

  app.get('/api/backup', async (req, reply) => {
    const actor = actorOf(req);
    service.authorizePermission(actor, 'backup.download', 'backup');
    if (restoring) throw new GatehouseError('conflict', 'A restore is running; try again in a moment');
    const file = staged('backup');
    copying++;
    try {
      await backupDatabase(service.db, file);
    } catch (e) {
      rmSync(file, { force: true });
      throw e;
    } finally {
      copying--;
    }
    const bytes = statSync(file).size;
    // Who took a copy of the whole database (it holds password hashes) is worth a line in the log.
    logAction(service, actor, 'backup.download', { bytes });
    const date = new Date(service.now()).toISOString().slice(0, 10);
    const body = createReadStream(file);
    body.on('close', () => rmSync(file, { force: true }));
    body.on('error', (e) => service.log('error', 'sending a backup failed', e));
    reply.header('Content-Type', 'application/vnd.sqlite3');
    reply.header('Content-Length', String(bytes));
    reply.header('Content-Disposition', `attachment; filename="gatehouse-${date}.db"`);
    return reply.send(body);
  });

  app.register(async (scope) => {
    // The body stays a stream: it goes to disk as it arrives, whatever its size.
    scope.addContentTypeParser(BACKUP_TYPES, (_req, payload, done) => done(null, payload));
    scope.post<{ Querystring: { dry_run?: string } }>('/api/restore', { bodyLimit: maxBytes }, async (req) => {
      const actor = actorOf(req);
      service.authorizePermission(actor, 'backup.restore', 'backup');
      if (actor.role !== 'owner' || actor.kind !== 'operator') throw new GatehouseError('forbidden', 'Only an owner may restore a backup');
      const dryRun = req.query.dry_run === 'true' || req.query.dry_run === '1';
      if (!dryRun && !opts.onRestore) throw new GatehouseError('unavailable', 'Restoring is not available here; stop Gatehouse and run gatehouse restore FILE');
      if (!(req.body instanceof Readable)) {
        throw new GatehouseError('validation', `Send the backup file as the request body with Content-Type: ${BACKUP_TYPES[0]}`, [{ path: 'body', message: 'missing' }]);
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBytes) throw new GatehouseError('validation', `The file is larger than ${maxBytes} bytes`, [{ path: 'body', message: 'too large' }]);

      const file = staged('restore');
      try {
        await pipeline(req.body, limit(maxBytes), createWriteStream(file));
        let info: BackupInfo;
        try {
          info = inspectBackup(file);
        } catch (e) {
          // The message names the staged file; the operator knows it as "the uploaded file".
          const why = (e as Error).message.split(file).join('the uploaded file');
          throw new GatehouseError('validation', `This is not a Gatehouse backup that can be restored: ${why}`, [{ path: 'body', message: why }]);
        }
        const backup: BackupDescription = { site_name: info.siteName, schema_version: info.schemaVersion, counts: info.counts, bytes: statSync(file).size };
        if (dryRun) return { dry_run: true, backup };
        if (restoring) throw new GatehouseError('conflict', 'Another restore is running');
        if (copying > 0) throw new GatehouseError('conflict', 'A backup is being made; try again when it has finished');
        restoring = true;
        try {
          const outcome = await opts.onRestore!(file, actor);
          return { dry_run: false, backup, previous: outcome.previous ? basename(outcome.previous) : null };
        } finally {
          restoring = false;
        }
      } finally {
        rmSync(file, { force: true });
      }
    });
  });
}

/** Counts bytes and fails the upload once it passes `max`. */
function limit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      seen += chunk.length;
      if (seen > max) next(new GatehouseError('validation', `The file is larger than ${max} bytes`, [{ path: 'body', message: 'too large' }]));
      else next(null, chunk);
    },
  });
}

/** An operator-log record for what happens outside the contract (the log is hash-chained like all of it). */
export function logAction(service: GatehouseService, actor: Actor, command: string, after: unknown): void {
  service.db.transaction((w) =>
    appendOperatorLog(w, [
      { at: new Date(service.now()).toISOString(), actor_kind: actor.kind, actor_id: actor.id, actor_name: actor.name, command, target_type: 'site', target_id: null, before: undefined, after },
    ]),
  );
}
