// Validated IPC (electron/main/ipc.ts): only the Gatehouse window's top frame, on the app's own origin,
// may call; only contract names, JSON input and string-or-null tokens pass; only three channels exist.
import { describe, expect, it, vi } from 'vitest';
import type { IpcMain, WebContents } from 'electron';
import { CHANNELS } from '../../electron/common/channels.ts';
import { INBOUND_CHANNELS, checkCall, checkExport, handle, isJsonValue, on, registerIpc, type CoreBridge } from '../../electron/main/ipc.ts';
import { FakeIpcMain, FakeWebContents, memoryLog, type FakeFrame } from './fake-electron.ts';

vi.mock('electron', async () => (await import('./fake-electron.ts')).createFakeElectron());

const DEV = 'http://localhost:5173';

function setup(o: { devOrigin?: string | null; url?: string; chosenFile?: string | null } = {}) {
  const ipcMain = new FakeIpcMain();
  const main = new FakeWebContents(o.url ?? 'app://gatehouse/index.html');
  const log = memoryLog();
  const core = {
    call: vi.fn<CoreBridge['call']>(async () => ({ ok: true, result: { fine: true } })),
    subscribe: vi.fn<CoreBridge['subscribe']>(),
    unsubscribe: vi.fn<CoreBridge['unsubscribe']>(),
    exportToFile: vi.fn<CoreBridge['exportToFile']>((_name, _input, _token, file, onProgress) => {
      onProgress({ rows: 5, total: 10, bytes: 100 });
      return { id: 7, done: new Promise((r) => (finishExport = () => r({ ok: true, result: { file, rows: 10, bytes: 200, cancelled: false } }))) };
    }),
    cancelExport: vi.fn<CoreBridge['cancelExport']>(),
  };
  let finishExport = () => {};
  const chooseExportFile = vi.fn(async (_contents: WebContents, _name: string) => (o.chosenFile === undefined ? '/home/desk/Downloads/entries.csv' : o.chosenFile));
  const off = registerIpc({
    chooseExportFile,
    ipcMain: ipcMain as unknown as IpcMain,
    mainContents: () => main as unknown as WebContents,
    devOrigin: o.devOrigin ?? null,
    core,
    log,
  });
  const from = (sender: FakeWebContents = main, frame: FakeFrame | null = sender.mainFrame) => ({ sender, senderFrame: frame });
  const invoke = (event: ReturnType<typeof from>, ...args: unknown[]) => ipcMain.handlers.get(CHANNELS.call)!(event, ...args) as Promise<unknown>;
  const send = (channel: string, event: ReturnType<typeof from>, ...args: unknown[]) => ipcMain.listeners.get(channel)!(event, ...args);
  const invokeExport = (event: ReturnType<typeof from>, ...args: unknown[]) => ipcMain.handlers.get(CHANNELS.export)!(event, ...args) as Promise<unknown>;
  return { ipcMain, main, log, core, off, from, invoke, send, invokeExport, chooseExportFile, finish: () => finishExport() };
}

const call = { name: 'site.get', input: {}, token: 'tok' };

describe('the channels', () => {
  it('are exactly call, subscribe, unsubscribe, export and export-cancel (plus event and export-progress outbound)', () => {
    const { ipcMain } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual(['gatehouse:call', 'gatehouse:export']);
    expect([...ipcMain.listeners.keys()].sort()).toEqual(['gatehouse:export-cancel', 'gatehouse:subscribe', 'gatehouse:unsubscribe']);
    expect([...INBOUND_CHANNELS].sort()).toEqual(['gatehouse:call', 'gatehouse:export', 'gatehouse:export-cancel', 'gatehouse:subscribe', 'gatehouse:unsubscribe']);
    expect(CHANNELS.event).toBe('gatehouse:event');
    expect(CHANNELS.exportProgress).toBe('gatehouse:export-progress');
  });

  it('refuses to register any other channel', () => {
    const ipcMain = new FakeIpcMain() as unknown as IpcMain;
    expect(() => handle({ ipcMain }, 'gatehouse:shell', () => null)).toThrow(/not a Gatehouse channel/);
    expect(() => on({ ipcMain }, 'open-file', () => {})).toThrow(/not a Gatehouse channel/);
    expect(() => handle({ ipcMain }, CHANNELS.event, () => null)).toThrow(/not a Gatehouse channel/);
  });

  it('can be removed again', () => {
    const { ipcMain, off } = setup();
    off();
    expect(ipcMain.handlers.size + ipcMain.listeners.size).toBe(0);
  });
});

describe('the sender check', () => {
  it('relays a call from the top frame of the Gatehouse window', async () => {
    const { invoke, from, core } = setup();
    expect(await invoke(from(), call)).toEqual({ ok: true, result: { fine: true } });
    expect(core.call).toHaveBeenCalledWith('site.get', {}, 'tok');
  });

  it('refuses another webContents', async () => {
    const { invoke, from, core, log } = setup();
    const foreign = new FakeWebContents('app://gatehouse/index.html');
    await expect(invoke(from(foreign), call)).rejects.toThrow(/Refused/);
    expect(core.call).not.toHaveBeenCalled();
    expect(log.lines.join('\n')).toMatch(/refused gatehouse:call .*not the Gatehouse window/);
  });

  it('refuses a subframe, even of the app origin', async () => {
    const { invoke, from, main, core } = setup();
    await expect(invoke(from(main, main.mainFrame.child('app://gatehouse/index.html')), call)).rejects.toThrow(/Refused/);
    await expect(invoke(from(main, main.mainFrame.child('https://evil.example/')), call)).rejects.toThrow(/Refused/);
    // A frame without a parent that is not the window's top frame (another frame tree) is refused too.
    const detached = new FakeWebContents().mainFrame;
    await expect(invoke(from(main, detached), call)).rejects.toThrow(/Refused/);
    expect(core.call).not.toHaveBeenCalled();
  });

  it('refuses the window once it shows another origin, and a frame that is gone', async () => {
    for (const url of ['https://evil.example/', 'file:///tmp/x.html', 'app://evil/index.html', `${DEV}/`]) {
      const { invoke, from, core } = setup({ url });
      await expect(invoke(from(), call), url).rejects.toThrow(/Refused/);
      expect(core.call).not.toHaveBeenCalled();
    }
    const { invoke, from } = setup();
    await expect(invoke(from(undefined, null), call)).rejects.toThrow(/Refused/);
  });

  it('accepts the dev server origin only in development', async () => {
    const { invoke, from, core } = setup({ url: `${DEV}/#/people`, devOrigin: DEV });
    await invoke(from(), call);
    expect(core.call).toHaveBeenCalled();
  });

  it('guards subscribe and unsubscribe the same way', () => {
    const { send, from, main, core } = setup();
    const foreign = new FakeWebContents();
    send(CHANNELS.subscribe, from(foreign), 'tok');
    send(CHANNELS.subscribe, from(main, main.mainFrame.child('app://gatehouse/')), 'tok');
    send(CHANNELS.unsubscribe, from(foreign));
    expect(core.subscribe).not.toHaveBeenCalled();
    expect(core.unsubscribe).not.toHaveBeenCalled();
  });
});

describe('the message check', () => {
  it.each([
    [{ name: 'shell.exec', input: {}, token: null }, /not a command or query/],
    [{ name: 'toString', input: {}, token: null }, /not a command or query/],
    [{ name: '__proto__', input: {}, token: null }, /not a command or query/],
    [{ input: {}, token: null }, /not a command or query/],
    [{ name: 'site.get', input: {}, token: 42 }, /token/],
    [{ name: 'site.get', input: {}, token: '' }, /token/],
    [{ name: 'site.get', input: {}, token: 'x'.repeat(513) }, /token/],
    [{ name: 'site.get', input: {}, token: null, extra: 1 }, /only name, input and token/],
    [{ name: 'site.get', input: new Date(), token: null }, /plain JSON/],
    [{ name: 'site.get', input: { when: new Date() }, token: null }, /plain JSON/],
    [{ name: 'site.get', input: new Map([['a', 1]]), token: null }, /plain JSON/],
    [{ name: 'site.get', input: { n: NaN }, token: null }, /plain JSON/],
    [{ name: 'site.get', input: { n: 10n }, token: null }, /plain JSON/],
    [{ name: 'site.get', input: { f: () => 1 }, token: null }, /plain JSON/],
    [{ name: 'site.get', input: new Uint8Array(4), token: null }, /plain JSON/],
    ['site.get', /an object/],
    [null, /an object/],
    [['site.get', {}, null], /an object/],
  ])('refuses %o', async (message, problem) => {
    const { invoke, from, core } = setup();
    const reply = (await invoke(from(), message)) as { ok: false; error: { code: string; message: string } };
    expect(reply.ok).toBe(false);
    expect(reply.error.code).toBe('validation');
    expect(reply.error.message).toMatch(problem);
    expect(core.call).not.toHaveBeenCalled();
  });

  it('refuses cyclic and absurdly deep input', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(isJsonValue(cyclic)).toBe(false);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(isJsonValue(deep)).toBe(false);
    expect(isJsonValue({ a: [1, 'b', null, true, { c: [] }] })).toBe(true);
  });

  it('refuses a call with more than one argument', async () => {
    const { invoke, from, core } = setup();
    const reply = (await invoke(from(), call, 'more')) as { ok: boolean };
    expect(reply.ok).toBe(false);
    expect(core.call).not.toHaveBeenCalled();
  });

  it('passes missing input on as {}', () => {
    expect(checkCall({ name: 'site.get', token: null })).toEqual({ ok: true, name: 'site.get', input: {}, token: null });
  });

  it('answers unavailable when the core cannot be reached', async () => {
    const { invoke, from, core } = setup();
    core.call.mockRejectedValueOnce(new Error('gone'));
    expect(await invoke(from(), call)).toEqual({ ok: false, error: { code: 'unavailable', message: expect.any(String) } });
  });

  it('subscribes with a token only, and sends events to the window on gatehouse:event', () => {
    const { send, from, main, core } = setup();
    send(CHANNELS.subscribe, from(), 42);
    send(CHANNELS.subscribe, from(), 'tok', 'extra');
    expect(core.subscribe).not.toHaveBeenCalled();
    send(CHANNELS.subscribe, from(), 'tok');
    expect(core.subscribe).toHaveBeenCalledWith(main.id, 'tok', expect.any(Function));
    const sink = core.subscribe.mock.calls[0]![2];
    sink('entry.new', { id: 'e1' });
    expect(main.send).toHaveBeenCalledWith('gatehouse:event', 'entry.new', { id: 'e1' });
    main.destroyed = true;
    sink('entry.new', { id: 'e2' });
    expect(main.send).toHaveBeenCalledTimes(1);
  });

  it('unsubscribes the sending window', () => {
    const { send, from, main, core } = setup();
    send(CHANNELS.unsubscribe, from(), 'unexpected');
    expect(core.unsubscribe).not.toHaveBeenCalled();
    send(CHANNELS.unsubscribe, from());
    expect(core.unsubscribe).toHaveBeenCalledWith(main.id);
  });
});

describe('exports to a file', () => {
  const request = { name: 'entries.export', input: { format: 'csv', lock_id: 'door-1' }, token: 'tok', suggested_name: 'entries-2026-11-26.csv' };

  it('asks the user where to save, writes there through the core and relays progress to the window', async () => {
    const { main, core, from, invokeExport, chooseExportFile, finish } = setup();
    const reply = invokeExport(from(), request);
    await vi.waitFor(() => expect(core.exportToFile).toHaveBeenCalled());
    expect(chooseExportFile).toHaveBeenCalledWith(main, 'entries-2026-11-26.csv');
    expect(core.exportToFile).toHaveBeenCalledWith('entries.export', request.input, 'tok', '/home/desk/Downloads/entries.csv', expect.any(Function));
    expect(main.send).toHaveBeenCalledWith(CHANNELS.exportProgress, { rows: 5, total: 10, bytes: 100 });
    finish();
    expect(await reply).toEqual({ ok: true, result: { file: '/home/desk/Downloads/entries.csv', rows: 10, bytes: 200, cancelled: false } });
  });

  it('answers null and writes nothing when the user closes the save dialog', async () => {
    const { core, from, invokeExport } = setup({ chosenFile: null });
    expect(await invokeExport(from(), request)).toEqual({ ok: true, result: null });
    expect(core.exportToFile).not.toHaveBeenCalled();
  });

  it('cancels the running export of the sending window, and refuses a second one meanwhile', async () => {
    const { core, from, invokeExport, send, finish } = setup();
    const first = invokeExport(from(), request);
    await vi.waitFor(() => expect(core.exportToFile).toHaveBeenCalled());
    expect(await invokeExport(from(), request)).toEqual({ ok: false, error: { code: 'conflict', message: 'An export is already running in this window' } });
    send(CHANNELS.exportCancel, from());
    expect(core.cancelExport).toHaveBeenCalledWith(7);
    finish();
    await first;
  });

  it('never lets the page choose the folder: only a plain file name is accepted', () => {
    for (const bad of ['../../.bashrc', '/etc/passwd', 'a/b.csv', '.hidden', 'C:\\x.csv', '', 'x'.repeat(101)]) {
      expect(checkExport({ ...request, suggested_name: bad }), bad).toMatchObject({ ok: false, problem: 'suggested_name must be a plain file name' });
    }
    expect(checkExport({ ...request, name: 'users.list' })).toMatchObject({ ok: false, problem: "'users.list' is not a stream of the contract" });
    expect(checkExport({ ...request, token: null })).toMatchObject({ ok: false, problem: 'an export needs a session token' });
    expect(checkExport({ ...request, path: '/tmp/x' })).toMatchObject({ ok: false });
    expect(checkExport(request)).toMatchObject({ ok: true, suggestedName: 'entries-2026-11-26.csv' });
  });

  it('refuses an export from another frame before any dialog opens', async () => {
    const { main, core, invokeExport, chooseExportFile } = setup();
    const sub = { sender: main, senderFrame: { ...main.mainFrame, parent: main.mainFrame, frameTreeNodeId: 99 } };
    await expect(invokeExport(sub as never, request)).rejects.toThrow(/may not export/);
    expect(chooseExportFile).not.toHaveBeenCalled();
    expect(core.exportToFile).not.toHaveBeenCalled();
  });
});
