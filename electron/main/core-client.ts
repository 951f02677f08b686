// Main's side of the core: forks core-process.ts as an Electron utilityProcess, relays contract calls to
// it and its events back to subscribers. Main itself never opens the database.
import { utilityProcess, type UtilityProcess } from 'electron';
import type { ErrorBody } from '../../core/contract/index.ts';
import type { CoreToMain, MainToCore, ProgressMessage, ReadyMessage } from './core-protocol.ts';
import type { Logger } from './log.ts';
import { masterKeyMessage } from './master-key.ts';

export type CallReply = { ok: true; result: unknown } | { ok: false; error: ErrorBody };
export type EventSink = (name: string, payload: unknown) => void;
export type ProgressSink = (p: Pick<ProgressMessage, 'rows' | 'total' | 'bytes'>) => void;

/** An export running in the core: its id (to cancel it) and its outcome. */
export interface RunningExport {
  id: number;
  done: Promise<CallReply>;
}

export interface CoreClientOptions {
  /** The built core-process entry (out/electron/main/core-process.js). */
  modulePath: string;
  dataDir: string;
  log: Logger;
  /** The core stopped without being asked to (crash, fatal start-up error). */
  onExit: (reason: string) => void;
  /** The installation's master key, unwrapped by main (master-key.ts); without it the core connects no hub. */
  masterKey?: Uint8Array | null;
}

const UNAVAILABLE: ErrorBody = { code: 'unavailable', message: 'The Gatehouse core is not running' };

export class CoreClient {
  private readonly child: UtilityProcess;
  private readonly pending = new Map<number, (reply: CallReply) => void>();
  private readonly sinks = new Map<number, EventSink>();
  private readonly progress = new Map<number, ProgressSink>();
  private nextId = 1;
  private running = true;
  private stopping = false;
  private fatal: string | null = null;
  /** Resolves when the core has opened the installation; rejects when it could not. */
  readonly ready: Promise<ReadyMessage>;

  constructor(private readonly o: CoreClientOptions) {
    this.child = utilityProcess.fork(o.modulePath, [], {
      serviceName: 'Gatehouse core',
      stdio: 'pipe',
      env: { ...process.env, GATEHOUSE_DATA_DIR: o.dataDir },
    });
    // First message: parentPort holds it until the core listens (docs/desktop.md, Hubs and the master key).
    if (o.masterKey) this.send(masterKeyMessage(o.masterKey));
    this.child.stdout?.on('data', (d: Buffer) => o.log.info(`core stdout: ${String(d).trimEnd()}`));
    this.child.stderr?.on('data', (d: Buffer) => o.log.warn(`core stderr: ${String(d).trimEnd()}`));
    let readyResolve!: (m: ReadyMessage) => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    this.ready.catch(() => {}); // observed by the caller; never an unhandled rejection here
    this.child.on('message', (m: CoreToMain) => {
      switch (m.type) {
        case 'reply': {
          const done = this.pending.get(m.id);
          this.pending.delete(m.id);
          this.progress.delete(m.id);
          done?.(m.ok ? { ok: true, result: m.result } : { ok: false, error: m.error });
          return;
        }
        case 'event':
          return this.sinks.get(m.subscriber)?.(m.name, m.payload);
        case 'progress':
          return this.progress.get(m.id)?.({ rows: m.rows, total: m.total, bytes: m.bytes });
        case 'ready':
          return readyResolve(m);
        case 'fatal':
          this.fatal = m.message;
          o.log.error(`core: ${m.message}`);
          return readyReject(new Error(m.message));
        case 'log':
          return o.log[m.level](m.message);
      }
    });
    this.child.on('exit', (code: number) => {
      this.running = false;
      for (const done of this.pending.values()) done({ ok: false, error: UNAVAILABLE });
      this.pending.clear();
      this.sinks.clear();
      this.progress.clear();
      const reason = this.fatal ?? `the core process exited with code ${code}`;
      readyReject(new Error(reason));
      if (!this.stopping) {
        o.log.error(reason);
        o.onExit(reason);
      }
    });
  }

  call(name: string, input: unknown, token: string | null): Promise<CallReply> {
    if (!this.running) return Promise.resolve({ ok: false, error: UNAVAILABLE });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ type: 'call', id, name, input, token });
    });
  }

  /** Writes a contract stream into file (a path main chose with the user), reporting progress. */
  exportToFile(name: string, input: unknown, token: string, file: string, onProgress: ProgressSink): RunningExport {
    const id = this.nextId++;
    if (!this.running) return { id, done: Promise.resolve({ ok: false, error: UNAVAILABLE }) };
    const done = new Promise<CallReply>((resolve) => {
      this.pending.set(id, resolve);
      this.progress.set(id, onProgress);
      this.send({ type: 'export', id, name, input, token, file });
    });
    return { id, done };
  }

  cancelExport(id: number): void {
    if (this.running && this.pending.has(id)) this.send({ type: 'cancel', id });
  }

  /** Events for the session behind token go to sink until unsubscribe (one subscription per subscriber). */
  subscribe(subscriber: number, token: string, sink: EventSink): void {
    if (!this.running) return;
    this.sinks.set(subscriber, sink);
    this.send({ type: 'subscribe', subscriber, token });
  }

  unsubscribe(subscriber: number): void {
    if (!this.sinks.delete(subscriber) || !this.running) return;
    this.send({ type: 'unsubscribe', subscriber });
  }

  /** Asks the core to close the database and exit; kills it if it has not after timeoutMs. */
  stop(timeoutMs = 5000): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.stopping = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.o.log.warn('core: did not stop in time; killing it');
        this.child.kill();
      }, timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.send({ type: 'shutdown' });
    });
  }

  private send(message: MainToCore): void {
    this.child.postMessage(message);
  }
}
