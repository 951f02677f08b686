// What the core's utility process does with each message from main: contract calls go to the service
// (authenticated by their token, exactly like POST /api/rpc/{name} in core/rest/server.ts) and answer
// with a result or a typed error; subscriptions forward the service's events to main, filtered by the
// session's role with the same rules as the WebSocket (core/service/event-permissions.ts).
// No Electron here: core-process.ts wires this to process.parentPort, the tests call it directly.
import { GatehouseError, type ErrorBody } from '../../core/contract/index.ts';
import type { ContractEvents, EventName } from '../../core/contract/index.ts';
import type { Actor } from '../../core/service/actor.ts';
import { eventsFor } from '../../core/service/event-permissions.ts';
import type { GatehouseService } from '../../core/service/service.ts';
import { isAbsolute } from 'node:path';
import { isStreamName } from '../../core/contract/contract.ts';
import type { CallMessage, CoreToMain, ExportMessage, ExportResult, SubscribeMessage } from './core-protocol.ts';
import { writeChunksToFile } from './export-file.ts';

/** Called without a session (the REST transport makes the same exception). */
const PUBLIC_CALLS: ReadonlySet<string> = new Set(['auth.login', 'auth.client_token']);

export interface CoreHandler {
  /** Handles one message from main; anything malformed is logged and dropped (a call is answered). */
  handle(message: unknown): void;
  /** Stops every subscription. */
  close(): void;
}

/** Progress is reported at most this often (ms), and once at the end. */
const PROGRESS_EVERY_MS = 100;

export function createCoreHandler(service: GatehouseService, post: (message: CoreToMain) => void): CoreHandler {
  const subscriptions = new Map<number, Array<() => void>>();
  /** Exports in progress, by id: set to true to cancel. */
  const exports = new Map<number, { cancel: boolean }>();
  const log = (level: 'info' | 'warn' | 'error', message: string) => post({ type: 'log', level, message });

  const unsubscribe = (subscriber: number) => {
    for (const off of subscriptions.get(subscriber) ?? []) off();
    subscriptions.delete(subscriber);
  };

  const call = (m: CallMessage) => {
    const fail = (e: unknown) => post({ type: 'reply', id: m.id, ok: false, error: errorBody(e, service) });
    try {
      const actor = PUBLIC_CALLS.has(m.name) ? null : actorOf(service, m.token);
      const result = service.call(actor, m.name, m.input ?? {});
      // A call that talks to a hub answers once the hub has (service.call returns a promise then).
      if (result instanceof Promise) return void result.then((r: unknown) => post({ type: 'reply', id: m.id, ok: true, result: r ?? null }), fail);
      post({ type: 'reply', id: m.id, ok: true, result: result ?? null });
    } catch (e) {
      fail(e);
    }
  };

  const subscribe = (m: SubscribeMessage) => {
    unsubscribe(m.subscriber);
    let actor: Actor | null;
    try {
      actor = service.authenticate(m.token);
    } catch (e) {
      return log('error', `events: could not check the token of subscriber ${m.subscriber}: ${(e as Error).message}`);
    }
    if (!actor) {
      log('warn', `events: subscriber ${m.subscriber} sent an invalid or expired token; not subscribed`);
      return;
    }
    const offs: Array<() => void> = [];
    for (const name of eventsFor(actor.role)) {
      offs.push(service.on(name, (payload: ContractEvents[EventName]) => post({ type: 'event', subscriber: m.subscriber, name, payload })));
    }
    subscriptions.set(m.subscriber, offs);
    // As on the WebSocket: tells the client which role its events are filtered for.
    post({ type: 'event', subscriber: m.subscriber, name: 'ready', payload: { role: actor.role } });
  };

  const exportToFile = async (m: ExportMessage) => {
    const state = { cancel: false };
    exports.set(m.id, state);
    try {
      if (!isStreamName(m.name)) throw new GatehouseError('validation', `'${m.name}' is not a stream of the contract`);
      const actor = actorOf(service, m.token);
      let rows = 0;
      let total = 0;
      let bytes = 0;
      let shown = 0;
      const report = (force: boolean) => {
        if (!force && Date.now() - shown < PROGRESS_EVERY_MS) return;
        shown = Date.now();
        post({ type: 'progress', id: m.id, rows, total, bytes });
      };
      const { chunks } = service.stream(actor, m.name, m.input ?? {}, {
        onProgress: (done, of) => {
          rows = done;
          total = of;
        },
      });
      // Pull the first chunk here, so that a bad filter is refused before a file is created.
      const first = chunks.next();
      const all = (function* () {
        if (!first.done) yield first.value;
        yield* chunks;
      })();
      const written = await writeChunksToFile(all, m.file, {
        cancelled: () => state.cancel,
        onBytes: (b) => {
          bytes = b;
          report(false);
        },
      });
      report(true);
      const result: ExportResult = { file: m.file, rows, bytes: written ?? bytes, cancelled: written === null };
      post({ type: 'reply', id: m.id, ok: true, result });
    } catch (e) {
      post({ type: 'reply', id: m.id, ok: false, error: errorBody(e, service) });
    } finally {
      exports.delete(m.id);
    }
  };

  return {
    handle(message) {
      const m = message as Partial<Record<string, unknown>> | null;
      if (!m || typeof m !== 'object') return log('warn', 'core: dropped a message that is not an object');
      switch (m.type) {
        case 'call':
          if (typeof m.id !== 'number') return log('warn', 'core: dropped a call without an id');
          if (typeof m.name !== 'string' || !(typeof m.token === 'string' || m.token === null)) {
            post({ type: 'reply', id: m.id, ok: false, error: { code: 'validation', message: 'A call needs a name and a token (or null)' } });
            return;
          }
          return call(m as unknown as CallMessage);
        case 'subscribe':
          if (typeof m.subscriber !== 'number' || typeof m.token !== 'string') return log('warn', 'core: dropped a malformed subscribe');
          return subscribe(m as unknown as SubscribeMessage);
        case 'export':
          if (typeof m.id !== 'number') return log('warn', 'core: dropped an export without an id');
          if (typeof m.name !== 'string' || typeof m.token !== 'string' || typeof m.file !== 'string' || !isAbsolute(m.file)) {
            post({ type: 'reply', id: m.id, ok: false, error: { code: 'validation', message: 'An export needs a stream name, a token and an absolute file path' } });
            return;
          }
          void exportToFile(m as unknown as ExportMessage);
          return;
        case 'cancel': {
          const running = typeof m.id === 'number' ? exports.get(m.id) : undefined;
          if (running) running.cancel = true;
          return;
        }
        case 'unsubscribe':
          if (typeof m.subscriber !== 'number') return log('warn', 'core: dropped a malformed unsubscribe');
          return unsubscribe(m.subscriber);
        default:
          return log('warn', `core: dropped a message of unknown type '${String(m.type)}'`);
      }
    },
    close() {
      for (const subscriber of [...subscriptions.keys()]) unsubscribe(subscriber);
      for (const running of exports.values()) running.cancel = true;
    },
  };
}

function actorOf(service: GatehouseService, token: string | null): Actor | null {
  if (token === null) return null; // the service answers 'unauthenticated' for anything that needs a session
  const actor = service.authenticate(token);
  if (!actor) throw new GatehouseError('unauthenticated', 'The session is invalid or has expired; sign in again');
  return actor;
}

/** service.call only throws GatehouseErrors; anything else is a bug, reported without its details. */
function errorBody(e: unknown, service: GatehouseService): ErrorBody {
  if (e instanceof GatehouseError) return e.toBody();
  service.log('error', 'core process: unexpected error', e);
  return { code: 'internal', message: 'The call failed unexpectedly; nothing was saved' };
}
