// How the renderer reaches the core: one interface, two transports (Electron IPC, or HTTP plus a
// WebSocket in browser mode). Both carry contract calls and pushed events; neither knows any command.
import { GatehouseError, type ErrorBody, type StreamName } from '../../../core/contract/index.ts';
import { saveBlob, streamRowCounter } from './download.ts';

export type CallReply = { ok: true; result: unknown } | { ok: false; error: ErrorBody };

/** How far an export is: records so far, of total when the transport knows it, and bytes. */
export interface ExportProgress {
  rows: number;
  total: number | null;
  bytes: number;
}

/** A finished export: where it went (a file path on the desktop, the download's name in a browser). */
export interface ExportOutcome {
  file: string;
  rows: number;
  bytes: number;
  cancelled: boolean;
}

export interface ExportRequest {
  /** A plain file name to offer; the user (desktop) or the browser decides where it goes. */
  suggestedName: string;
  onProgress: (p: ExportProgress) => void;
  signal: AbortSignal;
}

export interface Transport {
  call(name: string, input: unknown, token: string | null): Promise<CallReply>;
  /** Starts receiving pushed events for a session; returns a function that stops it. */
  subscribe(token: string, onEvent: (name: string, payload: unknown) => void): () => void;
  /**
   * Writes a contract stream into a file the user keeps: on the desktop straight to disk through a save
   * dialog (constant memory), in a browser as a download. Null when the user closed the save dialog.
   */
  exportToFile(name: StreamName, input: Record<string, string>, token: string, request: ExportRequest): Promise<ExportOutcome | null>;
}

/** What the Electron preload exposes on window.gatehouse (electron/preload/index.ts). */
export interface PreloadApi {
  call(name: string, input: unknown, token: string | null): Promise<CallReply>;
  subscribe(token: string): void;
  unsubscribe(): void;
  onEvent(listener: (name: string, payload: unknown) => void): () => void;
  /** Asks main for a save dialog and has the core write the stream there; result: ExportOutcome or null. */
  exportToFile(name: string, input: unknown, token: string, suggestedName: string): Promise<CallReply>;
  /** Cancels this window's running export. */
  cancelExport(): void;
  onExportProgress(listener: (p: { rows: number; total: number; bytes: number }) => void): () => void;
}

declare global {
  interface Window {
    gatehouse?: PreloadApi;
  }
}

/** The HTTP route of each stream (core/rest/server.ts). */
const STREAM_ROUTES: Record<StreamName, string> = { 'entries.export': '/api/export/entries' };

export function httpTransport(base = ''): Transport {
  return {
    async exportToFile(name, input, token, { suggestedName, onProgress, signal }) {
      const res = await fetch(`${base}${STREAM_ROUTES[name]}?${new URLSearchParams(input).toString()}`, { headers: { authorization: `Bearer ${token}` }, signal });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => null)) as { error?: ErrorBody } | null;
        throw GatehouseError.fromBody(body?.error ?? { code: 'internal', message: `HTTP ${res.status}` });
      }
      const file = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? suggestedName;
      const csv = (res.headers.get('content-type') ?? '').startsWith('text/csv');
      const reader = res.body.getReader();
      const chunks: Uint8Array[] = [];
      const counter = streamRowCounter(csv);
      let bytes = 0;
      let shown = 0;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
          bytes += value.length;
          counter.add(value);
          // Progress a few times a second, not once per chunk.
          if (performance.now() - shown > 100) {
            shown = performance.now();
            onProgress({ rows: counter.rows, total: null, bytes });
          }
        }
      } catch (e) {
        if (signal.aborted) return { file, rows: counter.rows, bytes, cancelled: true };
        throw e;
      }
      onProgress({ rows: counter.rows, total: null, bytes });
      saveBlob(new Blob(chunks as BlobPart[], { type: csv ? 'text/csv;charset=utf-8' : 'application/x-ndjson' }), file);
      return { file, rows: counter.rows, bytes, cancelled: false };
    },
    async call(name, input, token) {
      let res: Response;
      try {
        res = await fetch(`${base}/api/rpc/${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(input ?? {}),
        });
      } catch {
        return { ok: false, error: { code: 'unavailable', message: 'Gatehouse cannot be reached; check that it is running' } };
      }
      const body = (await res.json().catch(() => null)) as { result?: unknown; error?: ErrorBody } | null;
      if (res.ok && body && 'result' in body) return { ok: true, result: body.result };
      return { ok: false, error: body?.error ?? { code: 'internal', message: `HTTP ${res.status}` } };
    },
    subscribe(token, onEvent) {
      let socket: WebSocket | null = null;
      let stopped = false;
      let retry = 500;
      const open = () => {
        const url = new URL(`${base}/api/events`, window.location.href);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        socket = new WebSocket(url);
        socket.onopen = () => {
          retry = 500;
          socket?.send(JSON.stringify({ token }));
        };
        socket.onmessage = (m) => {
          const msg = JSON.parse(String(m.data)) as { event: string; payload: unknown };
          onEvent(msg.event, msg.payload);
        };
        socket.onclose = (e) => {
          // 4401: the session is gone; anything else is the network or a restart: try again.
          if (stopped || e.code === 4401) return;
          setTimeout(open, retry);
          retry = Math.min(retry * 2, 10_000);
        };
      };
      open();
      return () => {
        stopped = true;
        socket?.close();
      };
    },
  };
}

export function ipcTransport(api: PreloadApi): Transport {
  return {
    async exportToFile(name, input, token, { suggestedName, onProgress, signal }) {
      const off = api.onExportProgress((p) => onProgress(p));
      const cancel = () => api.cancelExport();
      signal.addEventListener('abort', cancel);
      try {
        const reply = await api.exportToFile(name, input, token, suggestedName);
        if (!reply.ok) throw GatehouseError.fromBody(reply.error);
        return reply.result as ExportOutcome | null;
      } finally {
        signal.removeEventListener('abort', cancel);
        off();
      }
    },
    call: (name, input, token) => api.call(name, input, token),
    subscribe(token, onEvent) {
      const off = api.onEvent(onEvent);
      api.subscribe(token);
      return () => {
        off();
        api.unsubscribe();
      };
    },
  };
}
