// The main process against a fake Electron: how it starts (single instance, sandbox, app:// scheme),
// the window it makes, the core it forks and how it talks to it, and how it stops.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FakeElectron, FakeUtilityProcess } from './fake-electron.ts';
import { FakeBrowserWindow, FakeWebContents, createFakeElectron, memoryLog } from './fake-electron.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));
let dirs: string[] = [];
const savedEnv = { ...process.env };

beforeEach(() => {
  // A fresh fake Electron and a fresh main process for every test.
  vi.resetModules();
  vi.doMock('electron', () => createFakeElectron());
  vi.spyOn(console, 'log').mockImplementation(() => {}); // main echoes its log lines outside a packaged app
  dirs = [mkdtempSync(join(tmpdir(), 'gh-user-data-')), mkdtempSync(join(tmpdir(), 'gh-data-'))];
  process.env.GATEHOUSE_USER_DATA_DIR = dirs[0];
  process.env.GATEHOUSE_DATA_DIR = dirs[1];
  delete process.env.ELECTRON_RENDERER_URL;
});
afterEach(() => {
  vi.restoreAllMocks();
  process.env = { ...savedEnv };
  process.removeAllListeners('unhandledRejection');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function boot(prepare: (electron: FakeElectron) => void = () => {}) {
  const electron = (await import('electron')) as unknown as FakeElectron;
  prepare(electron);
  await import('../../electron/main/index.ts');
  return electron;
}

async function bootReady(ready: Record<string, unknown> = {}) {
  const electron = await boot();
  electron.app.fireReady();
  await tick();
  const core = electron.utilityProcess.forked[0]!;
  core.emit('message', { type: 'ready', dataDir: dirs[1], created: true, generatedPassword: null, ...ready });
  await tick();
  return { electron, core, win: FakeBrowserWindow.instances[0]! };
}

describe('start-up', () => {
  it('registers app:// as a privileged scheme, enables the sandbox and takes the single-instance lock before ready', async () => {
    const electron = await boot();
    expect(electron.protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([
      { scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }) },
    ]);
    expect(electron.app.enableSandbox).toHaveBeenCalled();
    expect(electron.app.requestSingleInstanceLock).toHaveBeenCalled();
    expect(FakeBrowserWindow.instances).toHaveLength(0);
  });

  it('a second instance quits at once and leaves the first alone', async () => {
    const electron = await boot((e) => e.app.requestSingleInstanceLock.mockReturnValue(false));
    expect(electron.app.quit).toHaveBeenCalled();
    electron.app.fireReady();
    await tick();
    expect(electron.utilityProcess.fork).not.toHaveBeenCalled();
    expect(FakeBrowserWindow.instances).toHaveLength(0);
  });

  it('forks the core as a utility process with the data folder, and opens the window once it is ready', async () => {
    const electron = await boot();
    electron.app.fireReady();
    await tick();
    expect(electron.utilityProcess.fork).toHaveBeenCalledTimes(1);
    const core = electron.utilityProcess.forked[0]!;
    expect(core.modulePath).toMatch(/core-process\.js$/);
    expect(core.options).toMatchObject({ serviceName: 'Gatehouse core', env: expect.objectContaining({ GATEHOUSE_DATA_DIR: dirs[1] }) });
    expect(FakeBrowserWindow.instances).toHaveLength(0);
    core.emit('message', { type: 'ready', dataDir: dirs[1], created: false, generatedPassword: null });
    await tick();
    expect(FakeBrowserWindow.instances).toHaveLength(1);
  });

  it('unwraps the master key with safeStorage and hands it to the core as its first message', async () => {
    const electron = await boot();
    electron.app.fireReady();
    await tick();
    const core = electron.utilityProcess.forked[0]!;
    const file = JSON.parse(readFileSync(join(dirs[1]!, 'master.key'), 'utf8')) as { protection: string; key: string };
    expect(file.protection).toBe('electron-safe-storage');
    const key = electron.safeStorage.decryptString(Buffer.from(file.key, 'base64'));
    expect(core.posted[0]).toEqual({ type: 'master-key', key });
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
  });

  it('starts without hubs, saying why, when the master key cannot be unwrapped', async () => {
    const electron = await boot((e) => void (e.safeStorage.available = false));
    writeFileSync(join(dirs[1]!, 'master.key'), JSON.stringify({ format: 'gatehouse-master-key', version: 1, protection: 'electron-safe-storage', key: 'AAAA' }), { mode: 0o600 });
    electron.app.fireReady();
    await tick();
    const core = electron.utilityProcess.forked[0]!;
    expect(core.posted).toEqual([]);
    core.emit('message', { type: 'ready', dataDir: dirs[1], created: false, generatedPassword: null });
    await tick();
    expect(FakeBrowserWindow.instances).toHaveLength(1);
  });

  it('keeps its files in <appData>/Gatehouse unless GATEHOUSE_USER_DATA_DIR says otherwise', async () => {
    delete process.env.GATEHOUSE_USER_DATA_DIR;
    const electron = await boot();
    const appData = electron.app.getPath('appData');
    expect(electron.app.setPath).toHaveBeenCalledWith('userData', join(appData, 'Gatehouse'));
    dirs.push(dirname(appData));
  });

  it('uses the userData folder for the data when GATEHOUSE_DATA_DIR is not set', async () => {
    delete process.env.GATEHOUSE_DATA_DIR;
    const electron = await boot();
    electron.app.fireReady();
    await tick();
    expect(electron.utilityProcess.forked[0]!.options.env).toMatchObject({ GATEHOUSE_DATA_DIR: dirs[0] });
  });

  it('creates the window with the secure web preferences and the built preload', async () => {
    const { win } = await bootReady();
    const prefs = win.options.webPreferences!;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(prefs.preload).toMatch(/[/\\]preload[/\\]index\.cjs$/);
    expect(win.loadURL).toHaveBeenCalledWith('app://gatehouse/index.html');
  });

  it('loads the dev server in development only', async () => {
    process.env.ELECTRON_RENDERER_URL = 'http://localhost:5173';
    const { win } = await bootReady();
    expect(win.loadURL).toHaveBeenCalledWith('http://localhost:5173');
  });

  it('serves app:// from the built renderer, locks the session down and registers the IPC channels', async () => {
    const { electron } = await bootReady();
    const ses = electron.session.defaultSession;
    expect(ses.protocol.handle).toHaveBeenCalledWith('app', expect.any(Function));
    expect(ses.permissionRequestHandler).not.toBeNull();
    expect(ses.permissionCheckHandler?.({}, 'usb', 'app://gatehouse', {})).toBe(false);
    expect(ses.beforeRequest).not.toBeNull();
    expect([...electron.ipcMain.handlers.keys(), ...electron.ipcMain.listeners.keys()].sort()).toEqual([
      'gatehouse:call',
      'gatehouse:export',
      'gatehouse:export-cancel',
      'gatehouse:subscribe',
      'gatehouse:unsubscribe',
    ]);
  });

  it('locks down every webContents that is created', async () => {
    const electron = await boot();
    const contents = new FakeWebContents();
    electron.app.emit('web-contents-created', {}, contents);
    expect(contents.windowOpenHandler?.({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    const e = { preventDefault: vi.fn() };
    contents.emit('will-navigate', e, 'https://example.com');
    expect(e.preventDefault).toHaveBeenCalled();
  });

  it('focuses the existing window when a second instance starts', async () => {
    const { electron, win } = await bootReady();
    win.minimized = true;
    electron.app.emit('second-instance', {}, [], '/');
    expect(win.restore).toHaveBeenCalled();
    expect(win.focus).toHaveBeenCalled();
  });

  it('shows a generated owner password once, in a dialog, and never logs it', async () => {
    const { electron, win } = await bootReady({ generatedPassword: 'Secret-Pass-123' });
    electron.dialog.showMessageBox.mockResolvedValueOnce({ response: 0, checkboxChecked: false });
    win.emit('ready-to-show');
    await tick();
    expect(electron.dialog.showMessageBox).toHaveBeenCalledTimes(1);
    expect(electron.dialog.showMessageBox.mock.calls[0]).toEqual([win, expect.objectContaining({ detail: expect.stringContaining('Secret-Pass-123') })]);
    expect(electron.clipboard.writeText).toHaveBeenCalledWith('Secret-Pass-123');
    const log = readFileSync(join(dirs[0]!, 'logs', 'gatehouse.log'), 'utf8');
    expect(log).toContain("created the operator 'owner'");
    expect(log).not.toContain('Secret-Pass-123');
  });

  it('reports a core that cannot start and quits without a window', async () => {
    const electron = await boot();
    electron.app.fireReady();
    await tick();
    const core = electron.utilityProcess.forked[0]!;
    core.emit('message', { type: 'fatal', message: 'Another Gatehouse (pid 42) is using /data; stop it first' });
    core.emit('exit', 1);
    await tick();
    expect(electron.dialog.showErrorBox).toHaveBeenCalledTimes(1);
    expect(electron.dialog.showErrorBox.mock.calls[0]![1]).toContain('pid 42');
    expect(electron.app.quit).toHaveBeenCalled();
    expect(FakeBrowserWindow.instances).toHaveLength(0);
  });

  it('lets the core close the database before quitting', async () => {
    const { electron, core } = await bootReady();
    const quit = { preventDefault: vi.fn() };
    electron.app.emit('will-quit', quit);
    expect(quit.preventDefault).toHaveBeenCalled();
    expect(core.posted.at(-1)).toEqual({ type: 'shutdown' });
    expect(electron.app.quit).not.toHaveBeenCalled();
    core.emit('exit', 0);
    await tick();
    expect(electron.app.quit).toHaveBeenCalled();
    const again = { preventDefault: vi.fn() };
    electron.app.emit('will-quit', again);
    expect(again.preventDefault).not.toHaveBeenCalled();
  });

  it('ends the window’s event subscription when the page reloads', async () => {
    const { core, win } = await bootReady();
    const contents = win.webContents;
    const subscribe = { sender: contents, senderFrame: contents.mainFrame };
    const electron = (await import('electron')) as unknown as FakeElectron;
    electron.ipcMain.listeners.get('gatehouse:subscribe')!(subscribe, 'tok');
    expect(core.posted.at(-1)).toEqual({ type: 'subscribe', subscriber: contents.id, token: 'tok' });
    contents.emit('did-navigate');
    expect(core.posted.at(-1)).toEqual({ type: 'unsubscribe', subscriber: contents.id });
  });
});

describe('CoreClient', () => {
  async function client() {
    const electron = (await import('electron')) as unknown as FakeElectron;
    const { CoreClient } = await import('../../electron/main/core-client.ts');
    const onExit = vi.fn();
    const log = memoryLog();
    const c = new CoreClient({ modulePath: '/x/core-process.js', dataDir: '/data', log, onExit });
    return { c, child: electron.utilityProcess.forked[0] as FakeUtilityProcess, onExit, log };
  }

  it('matches replies to calls by id', async () => {
    const { c, child } = await client();
    const a = c.call('site.get', {}, 'tok');
    const b = c.call('users.list', { limit: 5 }, 'tok');
    expect(child.posted).toEqual([
      { type: 'call', id: 1, name: 'site.get', input: {}, token: 'tok' },
      { type: 'call', id: 2, name: 'users.list', input: { limit: 5 }, token: 'tok' },
    ]);
    child.emit('message', { type: 'reply', id: 2, ok: false, error: { code: 'forbidden', message: 'no' } });
    child.emit('message', { type: 'reply', id: 1, ok: true, result: { name: 'Site' } });
    expect(await a).toEqual({ ok: true, result: { name: 'Site' } });
    expect(await b).toEqual({ ok: false, error: { code: 'forbidden', message: 'no' } });
  });

  it('routes events to their subscriber only', async () => {
    const { c, child } = await client();
    const one = vi.fn();
    const two = vi.fn();
    c.subscribe(1, 'a', one);
    c.subscribe(2, 'b', two);
    child.emit('message', { type: 'event', subscriber: 2, name: 'entry.new', payload: { id: 'e' } });
    expect(one).not.toHaveBeenCalled();
    expect(two).toHaveBeenCalledWith('entry.new', { id: 'e' });
    c.unsubscribe(2);
    expect(child.posted.at(-1)).toEqual({ type: 'unsubscribe', subscriber: 2 });
    child.emit('message', { type: 'event', subscriber: 2, name: 'entry.new', payload: { id: 'f' } });
    expect(two).toHaveBeenCalledTimes(1);
  });

  it('answers pending and later calls with unavailable when the core dies, and reports it', async () => {
    const { c, child, onExit } = await client();
    const pending = c.call('site.get', {}, 'tok');
    child.emit('exit', 9);
    expect(await pending).toEqual({ ok: false, error: { code: 'unavailable', message: expect.any(String) } });
    expect(await c.call('site.get', {}, 'tok')).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(onExit).toHaveBeenCalledWith(expect.stringContaining('code 9'));
    await expect(c.ready).rejects.toThrow();
  });

  it('writes the core’s log messages to main’s log', async () => {
    const { child, log } = await client();
    child.emit('message', { type: 'log', level: 'error', message: 'audit retention failed' });
    expect(log.lines).toContain('error audit retention failed');
  });

  it('stops the core by asking, and kills it when it does not listen', async () => {
    vi.useFakeTimers();
    try {
      const { c, child, onExit } = await client();
      const stopped = c.stop(5000);
      expect(child.posted.at(-1)).toEqual({ type: 'shutdown' });
      vi.advanceTimersByTime(5000);
      await stopped;
      expect(child.kill).toHaveBeenCalled();
      expect(onExit).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });
});
