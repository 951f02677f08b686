// Validated IPC (electron/main/ipc.ts): only the Gatehouse window's top frame, on the app's own origin,
// may call; only contract names, JSON input and string-or-null tokens pass; only three channels exist.
import { describe, expect, it, vi } from 'vitest';
import type { IpcMain, WebContents } from 'electron';
import { CHANNELS } from '../../electron/common/channels.ts';
import { INBOUND_CHANNELS, checkCall, handle, isJsonValue, on, registerIpc, type CoreBridge } from '../../electron/main/ipc.ts';
import { FakeIpcMain, FakeWebContents, memoryLog, type FakeFrame } from './fake-electron.ts';

vi.mock('electron', async () => (await import('./fake-electron.ts')).createFakeElectron());

const DEV = 'http://localhost:5173';

function setup(o: { devOrigin?: string | null; url?: string } = {}) {
  const ipcMain = new FakeIpcMain();
  const main = new FakeWebContents(o.url ?? 'app://gatehouse/index.html');
  const log = memoryLog();
  const core = {
    call: vi.fn<CoreBridge['call']>(async () => ({ ok: true, result: { fine: true } })),
    subscribe: vi.fn<CoreBridge['subscribe']>(),
    unsubscribe: vi.fn<CoreBridge['unsubscribe']>(),
  };
  const off = registerIpc({
    ipcMain: ipcMain as unknown as IpcMain,
    mainContents: () => main as unknown as WebContents,
    devOrigin: o.devOrigin ?? null,
    core,
    log,
  });
  const from = (sender: FakeWebContents = main, frame: FakeFrame | null = sender.mainFrame) => ({ sender, senderFrame: frame });
  const invoke = (event: ReturnType<typeof from>, ...args: unknown[]) => ipcMain.handlers.get(CHANNELS.call)!(event, ...args) as Promise<unknown>;
  const send = (channel: string, event: ReturnType<typeof from>, ...args: unknown[]) => ipcMain.listeners.get(channel)!(event, ...args);
  return { ipcMain, main, log, core, off, from, invoke, send };
}

const call = { name: 'site.get', input: {}, token: 'tok' };

describe('the channels', () => {
  it('are exactly gatehouse:call, gatehouse:subscribe and gatehouse:unsubscribe (plus gatehouse:event outbound)', () => {
    const { ipcMain } = setup();
    expect([...ipcMain.handlers.keys()]).toEqual(['gatehouse:call']);
    expect([...ipcMain.listeners.keys()].sort()).toEqual(['gatehouse:subscribe', 'gatehouse:unsubscribe']);
    expect([...INBOUND_CHANNELS].sort()).toEqual(['gatehouse:call', 'gatehouse:subscribe', 'gatehouse:unsubscribe']);
    expect(CHANNELS.event).toBe('gatehouse:event');
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
