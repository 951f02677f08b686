// Messages between main and the core's utility process (process.parentPort). Both ends are ours, but
// the core still checks what it receives: main relays data that came from the renderer.
import type { ErrorBody } from '../../core/contract/index.ts';
import type { MasterKeyMessage } from './master-key.ts';

/** A contract call on behalf of the window (token: the session's bearer token, null before sign-in). */
export interface CallMessage {
  type: 'call';
  id: number;
  name: string;
  input: unknown;
  token: string | null;
}

/** Start pushing events to a subscriber (a window's webContents id) for the session behind token. */
export interface SubscribeMessage {
  type: 'subscribe';
  subscriber: number;
  token: string;
}

export interface UnsubscribeMessage {
  type: 'unsubscribe';
  subscriber: number;
}

/**
 * Write a contract stream (streams in core/contract, e.g. entries.export) into file: the path the user
 * chose in main's save dialog (never one from the renderer). Answered by a reply whose result is an
 * ExportResult, with progress messages before it.
 */
export interface ExportMessage {
  type: 'export';
  id: number;
  name: string;
  input: unknown;
  token: string;
  file: string;
}

/** Stop the export with this id; its partial file is removed and it replies with 'cancelled'. */
export interface CancelMessage {
  type: 'cancel';
  id: number;
}

export interface ExportResult {
  file: string;
  rows: number;
  bytes: number;
  cancelled: boolean;
}

/** Close the database and exit. */
export interface ShutdownMessage {
  type: 'shutdown';
}

export type MainToCore = CallMessage | SubscribeMessage | UnsubscribeMessage | ExportMessage | CancelMessage | ShutdownMessage | MasterKeyMessage;

export type ReplyMessage = { type: 'reply'; id: number } & ({ ok: true; result: unknown } | { ok: false; error: ErrorBody });

export interface EventMessage {
  type: 'event';
  subscriber: number;
  name: string;
  payload: unknown;
}

/** How far an export is: records written of total, and bytes on disk. */
export interface ProgressMessage {
  type: 'progress';
  id: number;
  rows: number;
  total: number;
  bytes: number;
}

/** The installation is open. generatedPassword is set once, on first start without GATEHOUSE_OWNER_PASSWORD. */
export interface ReadyMessage {
  type: 'ready';
  dataDir: string;
  created: boolean;
  generatedPassword: string | null;
}

/** The core could not start (database from a newer version, data folder in use, …). */
export interface FatalMessage {
  type: 'fatal';
  message: string;
}

export interface LogMessage {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

export type CoreToMain = ReplyMessage | EventMessage | ProgressMessage | ReadyMessage | FatalMessage | LogMessage;
