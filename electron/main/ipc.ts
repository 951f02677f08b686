// Validated IPC (VS Code's validatedIpcMain, docs/desktop.md): the only channels are the inbound ones in
// electron/common/channels.ts; every message is checked to come from the Gatehouse window's top frame
// showing the app's own origin, and its shape is checked before it is relayed to the core. Anything
// else is refused and logged. The core then validates the input against the contract, as for HTTP.
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents } from 'electron';
import { isContractName, isStreamName } from '../../core/contract/contract.ts';
import { CHANNELS } from '../common/channels.ts';
import type { CallReply, EventSink, ProgressSink, RunningExport } from './core-client.ts';
import type { Logger } from './log.ts';
import { isAppUrl } from './security.ts';

/** What the IPC layer needs of the core (CoreClient in the app, a fake in tests). */
export interface CoreBridge {
  call(name: string, input: unknown, token: string | null): Promise<CallReply>;
  subscribe(subscriber: number, token: string, sink: EventSink): void;
  unsubscribe(subscriber: number): void;
  exportToFile(name: string, input: unknown, token: string, file: string, onProgress: ProgressSink): RunningExport;
  cancelExport(id: number): void;
}

export interface IpcOptions {
  ipcMain: Pick<IpcMain, 'handle' | 'on' | 'removeHandler' | 'removeListener'>;
  /** The Gatehouse window's webContents (null before it exists or after it closed). */
  mainContents: () => WebContents | null;
  /** The Vite dev server's origin in development, else null. */
  devOrigin: string | null;
  core: CoreBridge;
  log: Logger;
  /**
   * Asks the user where to save an export (a save dialog on the window); null when they close it. The
   * path comes only from here: the renderer can name a file, never choose where it is written.
   */
  chooseExportFile: (contents: WebContents, suggestedName: string) => Promise<string | null>;
}

/** Channels the renderer may send or invoke on (the event channel only goes from main to the renderer). */
export const INBOUND_CHANNELS: ReadonlySet<string> = new Set([CHANNELS.call, CHANNELS.subscribe, CHANNELS.unsubscribe, CHANNELS.export, CHANNELS.exportCancel]);

/** Bounds on what a call may carry; far above anything the UI sends. */
export const LIMITS = { depth: 64, nodes: 2_000_000, tokenLength: 512 } as const;

type SenderEvent = Pick<IpcMainEvent | IpcMainInvokeEvent, 'sender' | 'senderFrame'>;

/** Why a message must be refused because of who sent it, or null when it comes from our window's top frame. */
export function senderProblem(event: SenderEvent, o: Pick<IpcOptions, 'mainContents' | 'devOrigin'>): string | null {
  const main = o.mainContents();
  if (!main || main.isDestroyed() || event.sender !== main) return 'not the Gatehouse window';
  const frame = event.senderFrame;
  if (!frame) return 'the sending frame is gone';
  // The frame tree node outlives navigations of the top frame, so compare that rather than objects.
  if (frame.parent !== null || frame.frameTreeNodeId !== main.mainFrame.frameTreeNodeId) return 'not the top frame';
  if (!isAppUrl(frame.url, o.devOrigin)) return `a page of another origin (${frame.url.slice(0, 100)})`;
  return null;
}

/** True for data a JSON round trip keeps as it is: no functions, class instances, cycles, NaN, -0, … */
export function isJsonValue(value: unknown, limits: { depth: number; nodes: number } = LIMITS): boolean {
  let nodes = 0;
  const walk = (v: unknown, depth: number): boolean => {
    if (++nodes > limits.nodes) return false;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
    if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
    if (typeof v !== 'object' || depth >= limits.depth) return false;
    if (Array.isArray(v)) {
      if (Object.getPrototypeOf(v) !== Array.prototype) return false;
      for (let i = 0; i < v.length; i++) if (!(i in v) || !walk(v[i], depth + 1)) return false;
      return true;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    for (const key of Object.keys(v)) if (!walk((v as Record<string, unknown>)[key], depth + 1)) return false;
    return Object.getOwnPropertySymbols(v).length === 0;
  };
  return walk(value, 0);
}

export type CallShape = { ok: true; name: string; input: unknown; token: string | null } | { ok: false; problem: string };

/** The shape of a gatehouse:call message: {name: a contract name, input: JSON data, token: string | null}. */
export function checkCall(message: unknown): CallShape {
  if (!message || typeof message !== 'object' || Array.isArray(message)) return { ok: false, problem: 'a call is an object {name, input, token}' };
  const keys = Object.keys(message);
  if (keys.some((k) => k !== 'name' && k !== 'input' && k !== 'token')) return { ok: false, problem: 'a call has only name, input and token' };
  const { name, input, token } = message as Record<string, unknown>;
  if (typeof name !== 'string' || !isContractName(name)) return { ok: false, problem: `'${String(name).slice(0, 100)}' is not a command or query of the contract` };
  if (!tokenOk(token) && token !== null) return { ok: false, problem: 'the token must be a string or null' };
  if (input !== undefined && !isJsonValue(input)) return { ok: false, problem: 'the input must be plain JSON data' };
  return { ok: true, name, input: input ?? {}, token: token as string | null };
}

export type ExportShape = { ok: true; name: string; input: unknown; token: string; suggestedName: string } | { ok: false; problem: string };

/** A file name without a folder: letters, digits and . _ - space, at most 100 characters, not starting with a dot. */
const FILE_NAME = /^[\p{L}\p{N}_ -][\p{L}\p{N}._ -]{0,99}$/u;

/** The shape of a gatehouse:export message: {name: a contract stream, input: JSON data, token, suggested_name}. */
export function checkExport(message: unknown): ExportShape {
  if (!message || typeof message !== 'object' || Array.isArray(message)) return { ok: false, problem: 'an export is an object {name, input, token, suggested_name}' };
  const keys = Object.keys(message);
  if (keys.some((k) => !['name', 'input', 'token', 'suggested_name'].includes(k))) return { ok: false, problem: 'an export has only name, input, token and suggested_name' };
  const { name, input, token, suggested_name: suggested } = message as Record<string, unknown>;
  if (typeof name !== 'string' || !isStreamName(name)) return { ok: false, problem: `'${String(name).slice(0, 100)}' is not a stream of the contract` };
  if (!tokenOk(token)) return { ok: false, problem: 'an export needs a session token' };
  if (typeof suggested !== 'string' || !FILE_NAME.test(suggested)) return { ok: false, problem: 'suggested_name must be a plain file name' };
  if (input !== undefined && !isJsonValue(input)) return { ok: false, problem: 'the input must be plain JSON data' };
  return { ok: true, name, input: input ?? {}, token, suggestedName: suggested };
}

function tokenOk(token: unknown): token is string {
  return typeof token === 'string' && token.length > 0 && token.length <= LIMITS.tokenLength;
}

/** Registers the handlers; returns a function that removes them. */
export function registerIpc(o: IpcOptions): () => void {
  const refuse = (channel: string, event: SenderEvent, why: string) => o.log.warn(`ipc: refused ${channel} from ${describe(event)}: ${why}`);

  const onCall = async (event: IpcMainInvokeEvent, message: unknown, ...extra: unknown[]): Promise<CallReply> => {
    const who = senderProblem(event, o);
    if (who) {
      refuse(CHANNELS.call, event, who);
      throw new Error('Refused: this frame may not call Gatehouse');
    }
    const shape = extra.length ? ({ ok: false, problem: 'a call has one argument' } as const) : checkCall(message);
    if (!shape.ok) {
      refuse(CHANNELS.call, event, shape.problem);
      return { ok: false, error: { code: 'validation', message: `Refused: ${shape.problem}` } };
    }
    try {
      return await o.core.call(shape.name, shape.input, shape.token);
    } catch (e) {
      o.log.error(`ipc: ${shape.name} failed in transit: ${(e as Error).message}`);
      return { ok: false, error: { code: 'unavailable', message: 'The Gatehouse core could not be reached' } };
    }
  };

  const onSubscribe = (event: IpcMainEvent, token: unknown, ...extra: unknown[]) => {
    const who = senderProblem(event, o);
    if (who) return refuse(CHANNELS.subscribe, event, who);
    if (extra.length || !tokenOk(token)) return refuse(CHANNELS.subscribe, event, 'subscribe takes one token (a string)');
    const contents = event.sender;
    o.core.subscribe(contents.id, token, (name, payload) => {
      if (!contents.isDestroyed()) contents.send(CHANNELS.event, name, payload);
    });
  };

  const onUnsubscribe = (event: IpcMainEvent, ...extra: unknown[]) => {
    const who = senderProblem(event, o);
    if (who) return refuse(CHANNELS.unsubscribe, event, who);
    if (extra.length) return refuse(CHANNELS.unsubscribe, event, 'unsubscribe takes no arguments');
    o.core.unsubscribe(event.sender.id);
  };

  /** The running export of each window (by webContents id): one at a time. */
  const running = new Map<number, number>();

  const onExport = async (event: IpcMainInvokeEvent, message: unknown, ...extra: unknown[]): Promise<CallReply> => {
    const who = senderProblem(event, o);
    if (who) {
      refuse(CHANNELS.export, event, who);
      throw new Error('Refused: this frame may not export');
    }
    const shape = extra.length ? ({ ok: false, problem: 'an export has one argument' } as const) : checkExport(message);
    if (!shape.ok) {
      refuse(CHANNELS.export, event, shape.problem);
      return { ok: false, error: { code: 'validation', message: `Refused: ${shape.problem}` } };
    }
    const contents = event.sender;
    if (running.has(contents.id)) return { ok: false, error: { code: 'conflict', message: 'An export is already running in this window' } };
    running.set(contents.id, -1);
    try {
      const file = await o.chooseExportFile(contents, shape.suggestedName);
      if (!file) return { ok: true, result: null };
      const job = o.core.exportToFile(shape.name, shape.input, shape.token, file, (p) => {
        if (!contents.isDestroyed()) contents.send(CHANNELS.exportProgress, p);
      });
      running.set(contents.id, job.id);
      const reply = await job.done;
      if (reply.ok) o.log.info(`export: ${shape.name} written to ${file}`);
      return reply;
    } catch (e) {
      o.log.error(`ipc: export ${shape.name} failed in transit: ${(e as Error).message}`);
      return { ok: false, error: { code: 'unavailable', message: 'The Gatehouse core could not be reached' } };
    } finally {
      running.delete(contents.id);
    }
  };

  const onExportCancel = (event: IpcMainEvent, ...extra: unknown[]) => {
    const who = senderProblem(event, o);
    if (who) return refuse(CHANNELS.exportCancel, event, who);
    if (extra.length) return refuse(CHANNELS.exportCancel, event, 'cancel takes no arguments');
    const id = running.get(event.sender.id);
    if (id !== undefined && id >= 0) o.core.cancelExport(id);
  };

  handle(o, CHANNELS.call, onCall);
  on(o, CHANNELS.subscribe, onSubscribe);
  on(o, CHANNELS.unsubscribe, onUnsubscribe);
  handle(o, CHANNELS.export, onExport);
  on(o, CHANNELS.exportCancel, onExportCancel);
  return () => {
    o.ipcMain.removeHandler(CHANNELS.call);
    o.ipcMain.removeHandler(CHANNELS.export);
    o.ipcMain.removeListener(CHANNELS.exportCancel, onExportCancel as (...args: unknown[]) => void);
    o.ipcMain.removeListener(CHANNELS.subscribe, onSubscribe as (...args: unknown[]) => void);
    o.ipcMain.removeListener(CHANNELS.unsubscribe, onUnsubscribe as (...args: unknown[]) => void);
  };
}

/** Only the allow-listed channels can be registered at all. */
function assertChannel(channel: string): void {
  if (!INBOUND_CHANNELS.has(channel)) throw new Error(`ipc: '${channel}' is not a Gatehouse channel`);
}

export function handle(o: Pick<IpcOptions, 'ipcMain'>, channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void {
  assertChannel(channel);
  o.ipcMain.handle(channel, listener);
}

export function on(o: Pick<IpcOptions, 'ipcMain'>, channel: string, listener: (event: IpcMainEvent, ...args: unknown[]) => void): void {
  assertChannel(channel);
  o.ipcMain.on(channel, listener);
}

function describe(event: SenderEvent): string {
  const url = event.senderFrame?.url ?? '(no frame)';
  return `webContents ${event.sender?.id ?? '?'} ${url.slice(0, 100)}`;
}
