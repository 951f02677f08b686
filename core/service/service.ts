// The service layer: every front end calls the core through `call()`. It checks who is calling and
// what they may do, validates the input against the contract, runs a command in one transaction with
// its operator-log records, and only after the commit updates the access engine and pushes events.
// Invalid input, a refused permission or a failing handler writes nothing.
import { EventEmitter } from 'node:events';
import { type z } from 'zod';
import { accessDiff } from '../access/access-diff.ts';
import { exportEntries } from '../audit/export.ts';
import { contract, isContractName, streams, type ContractName, type InputOf, type ResultOf, type StreamInput, type StreamName } from '../contract/contract.ts';
import { GatehouseError, type ErrorIssue } from '../contract/errors.ts';
import type { ContractEvents, EventName } from '../contract/events.ts';
import { can, type Permission } from '../contract/permissions.ts';
import type { AccessDiff } from '../contract/results.ts';
import { loadSnapshot } from '../store/access-snapshot-loader.ts';
import type { ReadDb, SiteDatabase } from '../store/db.ts';
import { appendOperatorLog, type LogRecord } from '../store/repos/operator-log.ts';
import { getOperator } from '../store/repos/operators.ts';
import { findToken } from '../store/repos/operators.ts';
import { getApiClient } from '../store/repos/operators.ts';
import { recordCloudChanges, type Touched } from '../cloud/outbox.ts';
import { AccessEngine, type TableVersion } from './access-engine.ts';
import { AuditTrail } from './audit-trail.ts';
import type { Actor } from './actor.ts';
import { ChangeSet } from './change-set.ts';
import type { CallMeta, CommandContext, Handlers, QueryContext } from './context.ts';
import { entryFilter } from './handlers/audit.ts';
import { handlers } from './handlers/index.ts';
import type { DeviceManager } from '../devices/device-manager.ts';
import type { EncoderManager } from '../encoders/encoder-manager.ts';
import type { CloudService } from '../cloud/cloud-service.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import { Later } from './later.ts';
import { LoginThrottle } from './login-throttle.ts';
import { tokenHash } from './passwords.ts';
import { fromSqliteError } from './sqlite-errors.ts';

export interface ServiceOptions {
  now?: () => number;
  /** Lifetime of tokens from auth.login (the UI); the REST token endpoint uses its own. */
  sessionTtlMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, extra?: unknown) => void;
}

class Rollback {
  constructor(readonly value: unknown) {}
}

export class GatehouseService {
  readonly now: () => number;
  readonly sessionTtlMs: number;
  readonly throttle: LoginThrottle;
  readonly engine: AccessEngine;
  readonly audit: AuditTrail;
  private readonly emitter = new EventEmitter();
  private readonly handlers: Handlers = handlers;
  readonly log: NonNullable<ServiceOptions['log']>;
  /**
   * The hubs, when a composition root runs a device manager (it sets itself here). Without one, lock
   * commands are recorded by the core alone, as for a site whose locks are not driven from this PC.
   */
  devices: DeviceManager | null = null;
  /** The card encoders, when a composition root runs an encoder manager (it sets itself here). */
  encoders: EncoderManager | null = null;
  /** The cloud connection, when a composition root provides a cloud connector (it sets itself here). */
  cloud: CloudService | null = null;
  /**
   * Seals the installation's secrets (the site's card key), set by the composition root that holds the
   * master key; without one, nothing that needs a secret works (`unavailable`).
   */
  secrets: SecretBox | null = null;

  constructor(
    readonly db: SiteDatabase,
    opts: ServiceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.sessionTtlMs = opts.sessionTtlMs ?? 12 * 3_600_000;
    this.log = opts.log ?? (() => {});
    this.throttle = new LoginThrottle(this.now);
    this.emitter.setMaxListeners(100);
    this.engine = new AccessEngine(db, this.now, (v: TableVersion) => {
      this.emit('iq.sync_state', { iq_id: v.iq_id, data_sync_state: 'pending', version: v.version, hash: v.hash });
    });
    this.audit = new AuditTrail(() => this.engine.snapshot);
  }

  on<E extends EventName>(name: E, fn: (payload: ContractEvents[E]) => void): () => void {
    this.emitter.on(name, fn);
    return () => this.emitter.off(name, fn);
  }

  emit<E extends EventName>(name: E, payload: ContractEvents[E]): void {
    this.emitter.emit(name, payload);
  }

  /** The actor behind a bearer token, or null when it is unknown, expired or its holder is disabled. */
  authenticate(token: string): Actor | null {
    const hash = tokenHash(token);
    const t = findToken(this.db.read, hash);
    if (!t || t.expires_at <= this.now()) return null;
    if (t.subject_kind === 'operator') {
      const o = getOperator(this.db.read, t.subject_id);
      return o && !o.disabled ? { kind: 'operator', id: o.id, name: o.username, role: o.role, tokenHash: hash } : null;
    }
    const c = getApiClient(this.db.read, t.subject_id);
    return c && !c.disabled ? { kind: 'client', id: c.id, name: c.customer_reference, role: c.role, tokenHash: hash } : null;
  }

  /** Typed entry point for in-process callers, for what completes in the core (no hub round trip). */
  run<K extends ContractName>(actor: Actor | null, name: K, input: InputOf<K>, meta: CallMeta = {}): ResultOf<K> {
    const r = this.dispatch(actor, name, input, meta);
    // A programming error, caught before the hub is asked anything.
    if (r instanceof Later) throw new Error(`'${name}' waits for a hub here: call runAsync`);
    return r as ResultOf<K>;
  }

  /** Typed entry point for in-process callers of anything, including what waits for a hub. */
  async runAsync<K extends ContractName>(actor: Actor | null, name: K, input: InputOf<K>, meta: CallMeta = {}): Promise<ResultOf<K>> {
    return (await this.call(actor, name, input, meta)) as ResultOf<K>;
  }

  /**
   * Entry point for untyped callers (IPC, HTTP): the name and input are checked here. The result is a
   * promise when the handler finishes its work at a hub after its transaction (a Later); callers await.
   */
  call(actor: Actor | null, name: string, rawInput: unknown, meta: CallMeta = {}): unknown {
    const r = this.dispatch(actor, name, rawInput, meta);
    if (!(r instanceof Later)) return r;
    return (r as Later<unknown>).run().catch((e: unknown) => {
      throw this.toError(e, name);
    });
  }

  /** Checks, then runs the handler (a command in its transaction); a Later is returned as it is. */
  private dispatch(actor: Actor | null, name: string, rawInput: unknown, meta: CallMeta): unknown {
    try {
      if (!isContractName(name)) throw new GatehouseError('validation', `Unknown command or query '${name}'`);
      const def = contract[name];
      this.authorize(actor, name);
      const input = parseInput(def.input, rawInput);
      return def.kind === 'query' ? (this.handlers[name] as (c: QueryContext, i: unknown) => unknown)(this.queryContext(actor, meta), input) : this.runCommand(actor, name, input, meta);
    } catch (e) {
      throw this.toError(e, name);
    }
  }

  /**
   * Refuses a caller who may not run this command or query (call() checks this itself; a front end
   * that prepares input in several steps checks it first, so a refusal is reported before bad input).
   */
  authorize(actor: Actor | null, name: ContractName): void {
    checkPermission(actor, name, contract[name].permission);
  }

  /** Refuses a caller who may not run this stream, with the same rules as commands and queries. */
  authorizeStream(actor: Actor | null, name: StreamName): void {
    try {
      checkPermission(actor, name, streams[name].permission);
    } catch (e) {
      throw this.toError(e, name);
    }
  }

  /**
   * Refuses a caller who lacks `permission` for an operation outside the contract (the host's database
   * backup and restore routes), with the same rules and messages as commands, queries and streams.
   */
  authorizePermission(actor: Actor | null, name: string, permission: Permission): void {
    try {
      checkPermission(actor, name, permission);
    } catch (e) {
      throw this.toError(e, name);
    }
  }

  /**
   * A stream (contract `streams`): checks the caller and the input like call(), then returns the parsed
   * input and the stream's text chunks. Nothing is read until the first chunk is pulled; a problem
   * with the input is thrown here, before any chunk.
   */
  stream<K extends StreamName>(actor: Actor | null, name: K, rawInput: unknown, opts: StreamOptions = {}): { input: StreamInput<K>; chunks: Generator<string> } {
    this.authorizeStream(actor, name);
    try {
      const input = parseInput(streams[name].input, rawInput) as StreamInput<K>;
      return { input, chunks: STREAM_SOURCES[name](this.db.read, input, opts) };
    } catch (e) {
      throw this.toError(e, name);
    }
  }

  private queryContext(actor: Actor | null, meta: CallMeta): QueryContext {
    const now = this.now();
    return { actor, now, nowIso: new Date(now).toISOString(), meta, service: this, db: this.db.read };
  }

  /**
   * Writes as a command does (one transaction, the operator log, access tables and events after the
   * commit), for work that finishes after a Later: what a hub or an encoder did, recorded under the
   * command that asked for it. The caller has already been authorised for `name`.
   */
  transact<T>(actor: Actor | null, name: ContractName, fn: (ctx: CommandContext) => T, meta: CallMeta = {}): T {
    const after: Array<() => void> = [];
    const changes = new ChangeSet();
    const result = this.db.transaction((db) => {
      const { ctx, records } = this.commandContext(db, actor, name, meta, changes, after);
      const r = fn(ctx);
      // The cloud hears of it soon after the commit (and the sync status shows one more waiting).
      if (recordCloudChanges(db, touchedRecords(changes, records), this.now()) > 0) after.push(() => this.cloud?.localChanges());
      appendOperatorLog(db, records);
      return r;
    });
    this.afterCommit(changes, after);
    return result;
  }

  private runCommand(actor: Actor | null, name: ContractName, input: unknown, meta: CallMeta): unknown {
    return this.transact(actor, name, (ctx) => (this.handlers[name] as (c: CommandContext, i: unknown) => unknown)(ctx, input), meta);
  }

  private commandContext(
    db: CommandContext['db'],
    actor: Actor | null,
    name: string,
    meta: CallMeta,
    changes: ChangeSet,
    after: Array<() => void>,
  ): { ctx: CommandContext; records: LogRecord[] } {
    const now = this.now();
    const nowIso = new Date(now).toISOString();
    const records: LogRecord[] = [];
    const ctx: CommandContext = {
      actor,
      now,
      nowIso,
      meta,
      service: this,
      db,
      changes,
      log(c) {
        records.push({
          at: nowIso,
          actor_kind: actor?.kind ?? 'anonymous',
          actor_id: actor?.id ?? null,
          actor_name: actor?.name ?? (meta.ip ? `anonymous@${meta.ip}` : 'anonymous'),
          command: name,
          target_type: c.target_type,
          target_id: c.target_id,
          before: c.before,
          after: c.after,
        });
        for (const t of c.touches ?? (c.target_id ? [{ kind: c.target_type, id: c.target_id }] : [])) changes.touch(t.kind, t.id);
      },
      touch: (kind, id) => changes.touch(kind, id),
      emit: (n, p) => void after.push(() => this.emitter.emit(n, p)),
      afterCommit: (fn) => void after.push(fn),
    };
    return { ctx, records };
  }

  private afterCommit(changes: ChangeSet, after: Array<() => void>): void {
    if (!changes.empty) {
      try {
        this.engine.apply(changes);
      } catch (e) {
        // The change is saved; the tables are derived and get rebuilt from the database.
        this.log('error', 'access engine update failed; reloading', e);
        this.engine.reload();
      }
      const kinds = [...changes.byKind.keys()];
      this.emit('model.changed', { kinds, ids: kinds.flatMap((k) => [...changes.ids(k)]) });
    }
    for (const fn of after) fn();
  }

  /**
   * Runs a command inside a transaction that is always rolled back, and compares who may open what
   * before and after. The caller needs the permission of the command being previewed.
   */
  preview(actor: Actor, p: { command: string; input: unknown; horizon_days: number; max_changes: number }, meta: CallMeta): AccessDiff {
    const name = p.command;
    if (!isContractName(name) || contract[name].kind !== 'command' || name.startsWith('auth.')) {
      throw new GatehouseError('validation', `'${name}' is not a command that can be previewed`, [{ path: 'command', message: 'unknown command' }]);
    }
    this.authorize(actor, name);
    const input = parseInput(contract[name].input, p.input, 'input');
    const from = this.now();
    const until = from + p.horizon_days * 86_400_000;
    try {
      this.db.transaction((db) => {
        const { ctx } = this.commandContext(db, actor, name, meta, new ChangeSet(), []);
        (this.handlers[name] as (c: CommandContext, i: unknown) => unknown)(ctx, input);
        const after = loadSnapshot(db);
        throw new Rollback(accessDiff(this.engine.snapshot, after, { from, until, maxChanges: p.max_changes }));
      });
    } catch (e) {
      if (e instanceof Rollback) return e.value as AccessDiff;
      throw e;
    }
    throw new GatehouseError('internal', 'preview did not complete');
  }

  private toError(e: unknown, name: string): GatehouseError {
    if (e instanceof GatehouseError) return e;
    const mapped = fromSqliteError(e);
    if (mapped) return mapped;
    this.log('error', `'${name}' failed`, e);
    return new GatehouseError('internal', `'${name}' failed unexpectedly; nothing was saved`);
  }
}

/**
 * What a command changed, for the cloud outbox: what it touched for the access engine, and the target
 * of every log record (a handler may log a change without touching, e.g. a device command).
 */
function touchedRecords(changes: ChangeSet, records: LogRecord[]): Touched {
  const out = new Map<string, Set<string>>();
  const add = (kind: string, id: string) => {
    let set = out.get(kind);
    if (!set) out.set(kind, (set = new Set()));
    set.add(id);
  };
  for (const [kind, ids] of changes.byKind) for (const id of ids) add(kind, id);
  for (const r of records) if (r.target_id) add(r.target_type, r.target_id);
  return out;
}

/** What each stream reads. Called before the first chunk is pulled: input problems throw here. */
export interface StreamOptions {
  /** Records written so far out of the total the stream will write (known when it starts). */
  onProgress?: (done: number, total: number) => void;
}

const STREAM_SOURCES: { [K in StreamName]: (db: ReadDb, input: StreamInput<K>, opts: StreamOptions) => Generator<string> } = {
  'entries.export': (db, { format, ...filter }, { onProgress }) => exportEntries(db, { format, filter: entryFilter(filter), onProgress }),
};

function checkPermission(actor: Actor | null, name: string, permission: Permission | null): void {
  if (permission === null) return;
  if (!actor) throw new GatehouseError('unauthenticated', 'Sign in first');
  if (!can(actor.role, permission)) {
    throw new GatehouseError('forbidden', `Your role (${actor.role}) may not do this: '${name}' needs the '${permission}' permission`);
  }
}

/** Validates input against a schema; a failure lists every problem with its path. */
export function parseInput(schema: z.ZodType, raw: unknown, prefix = ''): unknown {
  const r = schema.safeParse(raw === undefined ? {} : raw);
  if (r.success) return r.data;
  // An unknown field is usually the real mistake (a typo) behind "missing field": report it first.
  const ordered = [...r.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const issues: ErrorIssue[] = ordered.map((i) => ({ path: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(input)', message: i.message }));
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  throw new GatehouseError('validation', `${first.path}: ${first.message}${more}`, issues);
}
