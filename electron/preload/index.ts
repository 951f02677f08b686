// The preload: the window's only way to main. It runs sandboxed and context-isolated, and exposes
// exactly one object, window.gatehouse, shaped by PreloadApi (renderer/src/client/transport.ts): its
// functions use only the allowed channels. No ipcRenderer, no Node, nothing else reaches the page.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { CallReply, PreloadApi } from '../../renderer/src/client/transport.ts';
import { CHANNELS } from '../common/channels.ts';

// Without isolation, the page would share this script's globals (and ipcRenderer): refuse to run.
if (!process.contextIsolated) {
  throw new Error('Gatehouse: context isolation is off; refusing to expose window.gatehouse');
}

const api = {
  call: (name, input, token) => ipcRenderer.invoke(CHANNELS.call, { name, input, token }) as Promise<CallReply>,
  subscribe: (token) => ipcRenderer.send(CHANNELS.subscribe, token),
  unsubscribe: () => ipcRenderer.send(CHANNELS.unsubscribe),
  onEvent(listener) {
    const relay = (_event: IpcRendererEvent, name: string, payload: unknown) => listener(name, payload);
    ipcRenderer.on(CHANNELS.event, relay);
    return () => {
      ipcRenderer.removeListener(CHANNELS.event, relay);
    };
  },
  exportToFile: (name, input, token, suggestedName) => ipcRenderer.invoke(CHANNELS.export, { name, input, token, suggested_name: suggestedName }) as Promise<CallReply>,
  cancelExport: () => ipcRenderer.send(CHANNELS.exportCancel),
  onExportProgress(listener) {
    const relay = (_event: IpcRendererEvent, p: { rows: number; total: number; bytes: number }) => listener(p);
    ipcRenderer.on(CHANNELS.exportProgress, relay);
    return () => {
      ipcRenderer.removeListener(CHANNELS.exportProgress, relay);
    };
  },
} satisfies PreloadApi;

contextBridge.exposeInMainWorld('gatehouse', api);
