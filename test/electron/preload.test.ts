// The preload (electron/preload/index.ts) exposes exactly window.gatehouse with the PreloadApi keys, on
// the allowed channels only, and refuses to run without context isolation. (Type-checked with the
// preload's own project, electron/preload/tsconfig.json, because PreloadApi lives in the DOM world.)
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PreloadApi } from '../../renderer/src/client/transport.ts';
import { createFakeElectron, type FakeElectron } from './fake-electron.ts';

/** Every key of PreloadApi, checked both ways at compile time. */
const KEYS = { call: true, subscribe: true, unsubscribe: true, onEvent: true, exportToFile: true, cancelExport: true, onExportProgress: true } satisfies Record<keyof PreloadApi, true>;

let electron: FakeElectron;

beforeEach(() => {
  vi.resetModules();
  electron = createFakeElectron();
  vi.doMock('electron', () => electron);
});
afterEach(() => {
  delete (process as { contextIsolated?: boolean }).contextIsolated;
});

async function load(isolated: boolean | undefined) {
  Object.defineProperty(process, 'contextIsolated', { value: isolated, configurable: true });
  await import('../../electron/preload/index.ts');
}

function exposed(): PreloadApi {
  expect(electron.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1);
  const [name, api] = electron.contextBridge.exposeInMainWorld.mock.calls[0] as unknown as [string, PreloadApi];
  expect(name).toBe('gatehouse');
  return api;
}

describe('the preload', () => {
  it('exposes one object, window.gatehouse, with exactly the PreloadApi keys, all functions', async () => {
    await load(true);
    const api = exposed();
    expect(Object.keys(api).sort()).toEqual(Object.keys(KEYS).sort());
    for (const key of Object.keys(api)) expect(typeof api[key as keyof PreloadApi]).toBe('function');
  });

  it('fails hard, exposing nothing, when context isolation is off', async () => {
    await expect(load(false)).rejects.toThrow(/context isolation/);
    expect(electron.contextBridge.exposeInMainWorld).not.toHaveBeenCalled();
    vi.resetModules();
    await expect(load(undefined)).rejects.toThrow(/context isolation/);
  });

  it('sends calls and subscriptions on the gatehouse channels only', async () => {
    await load(true);
    const api = exposed();
    electron.ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, result: 5 } as never);
    expect(await api.call('site.get', {}, 'tok')).toEqual({ ok: true, result: 5 });
    expect(electron.ipcRenderer.invoke).toHaveBeenCalledWith('gatehouse:call', { name: 'site.get', input: {}, token: 'tok' });
    api.subscribe('tok');
    api.unsubscribe();
    expect(electron.ipcRenderer.send.mock.calls).toEqual([['gatehouse:subscribe', 'tok'], ['gatehouse:unsubscribe']]);
  });

  it('delivers events to a listener without the IPC event object, until it is removed', async () => {
    await load(true);
    const api = exposed();
    const listener = vi.fn();
    const off = api.onEvent(listener);
    const [channel, relay] = electron.ipcRenderer.on.mock.calls[0] as unknown as [string, (...a: unknown[]) => void];
    expect(channel).toBe('gatehouse:event');
    relay({ sender: 'ipc internals' }, 'entry.new', { id: 'e1' });
    expect(listener).toHaveBeenCalledWith('entry.new', { id: 'e1' });
    off();
    expect(electron.ipcRenderer.removeListener).toHaveBeenCalledWith('gatehouse:event', relay);
  });

  it('exports through gatehouse:export with only a file name, cancels and relays progress on their own channels', async () => {
    await load(true);
    const api = exposed();
    electron.ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, result: null } as never);
    expect(await api.exportToFile('entries.export', { format: 'csv' }, 'tok', 'entries.csv')).toEqual({ ok: true, result: null });
    expect(electron.ipcRenderer.invoke).toHaveBeenCalledWith('gatehouse:export', { name: 'entries.export', input: { format: 'csv' }, token: 'tok', suggested_name: 'entries.csv' });
    api.cancelExport();
    expect(electron.ipcRenderer.send).toHaveBeenCalledWith('gatehouse:export-cancel');
    const listener = vi.fn();
    const off = api.onExportProgress(listener);
    const [channel, relay] = electron.ipcRenderer.on.mock.calls[0] as unknown as [string, (...a: unknown[]) => void];
    expect(channel).toBe('gatehouse:export-progress');
    relay({ sender: 'ipc internals' }, { rows: 1, total: 2, bytes: 3 });
    expect(listener).toHaveBeenCalledWith({ rows: 1, total: 2, bytes: 3 });
    off();
    expect(electron.ipcRenderer.removeListener).toHaveBeenCalledWith('gatehouse:export-progress', relay);
  });
});
