// What a handler sees: the database handle for its kind of call, who is calling, the clock, and (for
// commands) the operator log and the list of what it touched.
import type { ContractEvents, EventName } from '../contract/events.ts';
import type { ContractName, ParsedInputOf, ResultOf, Contract } from '../contract/contract.ts';
import type { ReadDb, WriteDb } from '../store/db.ts';
import type { Actor } from './actor.ts';
import type { ChangeSet, TouchKind } from './change-set.ts';
import type { GatehouseService } from './service.ts';
import type { Later } from './later.ts';

export interface CallMeta {
  /** Source address of a network caller, for throttling and the log. */
  ip?: string;
  /** In-process callers (the CLI) can follow long work. */
  onProgress?: (done: number, total: number, phase: string) => void;
}

interface BaseContext {
  actor: Actor | null;
  now: number;
  nowIso: string;
  meta: CallMeta;
  service: GatehouseService;
}

export interface QueryContext extends BaseContext {
  db: ReadDb;
}

export interface LogChange {
  target_type: TouchKind;
  target_id: string | null;
  before?: unknown;
  after?: unknown;
  /** Further records whose access state this change affects (default: the target itself). */
  touches?: Array<{ kind: TouchKind; id: string }>;
}

export interface CommandContext extends BaseContext {
  db: WriteDb;
  changes: ChangeSet;
  /** Records the change in the operator log (in the command's transaction) and marks what it touched. */
  log(change: LogChange): void;
  touch(kind: TouchKind, id: string): void;
  /** Queues an event; it is sent only if the command commits. */
  emit<E extends EventName>(name: E, payload: ContractEvents[E]): void;
  /** Runs fn once the command has committed (never when it rolls back). */
  afterCommit(fn: () => void): void;
}

type HandlerFor<K extends ContractName> = Contract[K]['kind'] extends 'command'
  ? (ctx: CommandContext, input: ParsedInputOf<K>) => ResultOf<K> | Later<ResultOf<K>>
  : (ctx: QueryContext, input: ParsedInputOf<K>) => ResultOf<K> | Later<ResultOf<K>>;

export type Handlers = { [K in ContractName]: HandlerFor<K> };
export type HandlerGroup<K extends ContractName> = { [P in K]: HandlerFor<P> };
