// A stand-in for the `electron` module (whose binary is not installed here), for
// vi.mock('electron', () => createFakeElectron()). It records what main does with it: windows and their
// options, IPC handlers, session handlers, protocol registrations, forked utility processes.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';

let nextContentsId = 1;
let fakes = 0;
let nextFrameTreeNodeId = 1;

export class FakeFrame {
  parent: FakeFrame | null = null;
  readonly frameTreeNodeId = nextFrameTreeNodeId++;
  constructor(public url: string) {}
  child(url: string): FakeFrame {
    const f = new FakeFrame(url);
    f.parent = this;
    return f;
  }
}

export class FakeWebContents extends EventEmitter {
  readonly id = nextContentsId++;
  destroyed = false;
  mainFrame: FakeFrame;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  readonly send = vi.fn();
  constructor(url = 'app://gatehouse/index.html') {
    super();
    this.mainFrame = new FakeFrame(url);
  }
  isDestroyed() {
    return this.destroyed;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
    this.windowOpenHandler = handler;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static instances: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  readonly loadURL = vi.fn(async (_url: string) => {});
  readonly show = vi.fn();
  readonly focus = vi.fn();
  readonly restore = vi.fn();
  minimized = false;
  constructor(public readonly options: { webPreferences?: Record<string, unknown> } & Record<string, unknown>) {
    super();
    FakeBrowserWindow.instances.push(this);
  }
  isDestroyed() {
    return false;
  }
  isMinimized() {
    return this.minimized;
  }
}

export class FakeUtilityProcess extends EventEmitter {
  readonly posted: unknown[] = [];
  readonly stdout = new EventEmitter();
  readonly stderr = new EventEmitter();
  readonly kill = vi.fn(() => {
    this.emit('exit', 1);
    return true;
  });
  constructor(
    public readonly modulePath: string,
    public readonly options: Record<string, unknown>,
  ) {
    super();
  }
  postMessage(message: unknown) {
    this.posted.push(message);
  }
}

export class FakeSession {
  permissionRequestHandler: ((contents: unknown, permission: string, callback: (granted: boolean) => void, details: unknown) => void) | null = null;
  permissionCheckHandler: ((...args: unknown[]) => boolean) | null = null;
  devicePermissionHandler: ((...args: unknown[]) => boolean) | null = null;
  beforeRequest: ((details: { url: string }, callback: (r: { cancel?: boolean }) => void) => void) | null = null;
  headersReceived: ((details: { url: string; responseHeaders?: Record<string, string | string[]> }, callback: (r: { responseHeaders?: Record<string, string | string[]> }) => void) => void) | null = null;
  readonly protocol = { handle: vi.fn() };
  readonly webRequest = {
    onBeforeRequest: (_filter: unknown, fn: FakeSession['beforeRequest']) => void (this.beforeRequest = fn),
    onHeadersReceived: (_filter: unknown, fn: FakeSession['headersReceived']) => void (this.headersReceived = fn),
  };
  setPermissionRequestHandler(fn: FakeSession['permissionRequestHandler']) {
    this.permissionRequestHandler = fn;
  }
  setPermissionCheckHandler(fn: FakeSession['permissionCheckHandler']) {
    this.permissionCheckHandler = fn;
  }
  setDevicePermissionHandler(fn: FakeSession['devicePermissionHandler']) {
    this.devicePermissionHandler = fn;
  }
}

export class FakeIpcMain {
  readonly handlers = new Map<string, (...args: unknown[]) => unknown>();
  readonly listeners = new Map<string, (...args: unknown[]) => void>();
  handle(channel: string, fn: (...args: unknown[]) => unknown) {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, fn);
  }
  on(channel: string, fn: (...args: unknown[]) => void) {
    this.listeners.set(channel, fn);
    return this;
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
  removeListener(channel: string) {
    this.listeners.delete(channel);
    return this;
  }
}

/**
 * Electron's safeStorage (main process only): "encrypts" with a secret of this fake, so a blob made by
 * one fake (another user, another computer) does not decrypt in another. `available` and `backend` are
 * test controls (isEncryptionAvailable, getSelectedStorageBackend on Linux).
 */
export class FakeSafeStorage {
  available = true;
  backend = 'gnome_libsecret';
  readonly #secret = randomBytes(32);
  isEncryptionAvailable() {
    return this.available;
  }
  getSelectedStorageBackend() {
    return this.backend;
  }
  encryptString(plainText: string): Buffer {
    if (!this.available) throw new Error('Encryption is not available.');
    return Buffer.concat([Buffer.from('v10'), this.#xor(Buffer.from(`ok:${plainText}`, 'utf8'))]);
  }
  decryptString(encrypted: Buffer): string {
    if (!this.available) throw new Error('Decryption is not available.');
    const body = this.#xor(encrypted.subarray(3));
    const text = body.toString('utf8');
    if (!encrypted.subarray(0, 3).equals(Buffer.from('v10')) || !text.startsWith('ok:')) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    return text.slice(3);
  }
  #xor(b: Buffer): Buffer {
    return Buffer.from(b.map((x, i) => x ^ this.#secret[i % this.#secret.length]!));
  }
}

export function createFakeElectron() {
  FakeBrowserWindow.instances = [];
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  // Not created here: whoever writes there (main's logger) creates it, and the test removes it.
  const base = join(tmpdir(), `gh-fake-electron-${process.pid}-${++fakes}`);
  const paths = new Map<string, string>([
    ['userData', join(base, 'user-data')],
    ['appData', join(base, 'app-data')],
  ]);
  const app = Object.assign(new EventEmitter(), {
    isPackaged: false,
    getPath: vi.fn((name: string) => paths.get(name) ?? `/nonexistent/${name}`),
    setPath: vi.fn((name: string, value: string) => void paths.set(name, value)),
    getVersion: () => '0.1.0-test',
    enableSandbox: vi.fn(),
    setAppUserModelId: vi.fn(),
    requestSingleInstanceLock: vi.fn(() => true),
    quit: vi.fn(),
    exit: vi.fn(),
    whenReady: () => ready,
    /** Test control: fire 'ready'. */
    fireReady: () => resolveReady(),
  });
  const defaultSession = new FakeSession();
  const forked: FakeUtilityProcess[] = [];
  return {
    app,
    BrowserWindow: FakeBrowserWindow,
    ipcMain: new FakeIpcMain(),
    session: { defaultSession },
    protocol: { registerSchemesAsPrivileged: vi.fn() },
    shell: { openExternal: vi.fn(async () => {}) },
    dialog: { showErrorBox: vi.fn(), showMessageBox: vi.fn(async () => ({ response: 1, checkboxChecked: false })) },
    clipboard: { writeText: vi.fn() },
    utilityProcess: {
      forked,
      fork: vi.fn((modulePath: string, _args: string[], options: Record<string, unknown>) => {
        const child = new FakeUtilityProcess(modulePath, options);
        forked.push(child);
        return child;
      }),
    },
    safeStorage: new FakeSafeStorage(),
    contextBridge: { exposeInMainWorld: vi.fn() },
    ipcRenderer: { invoke: vi.fn(async () => ({ ok: true, result: null })), send: vi.fn(), on: vi.fn(), removeListener: vi.fn() },
  };
}

export type FakeElectron = ReturnType<typeof createFakeElectron>;

/** A silent logger that remembers its lines. */
export function memoryLog() {
  const lines: string[] = [];
  return {
    lines,
    file: '/nonexistent/gatehouse.log',
    info: (m: string) => void lines.push(`info ${m}`),
    warn: (m: string) => void lines.push(`warn ${m}`),
    error: (m: string) => void lines.push(`error ${m}`),
  };
}
