// How the renderer reaches the core: one interface, two transports (Electron IPC, or HTTP plus a
// WebSocket in browser mode). Both carry contract calls and pushed events; neither knows any command.
import type { ErrorBody } from '../../../core/contract/index.ts';

export type CallReply = { ok: true; result: unknown } | { ok: false; error: ErrorBody };

export interface Transport {
  call(name: string, input: unknown, token: string | null): Promise<CallReply>;
  /** Starts receiving pushed events for a session; returns a function that stops it. */
  subscribe(token: string, onEvent: (name: string, payload: unknown) => void): () => void;
}

/** What the Electron preload exposes on window.gatehouse (electron/preload/index.ts). */
export interface PreloadApi {
  call(name: string, input: unknown, token: string | null): Promise<CallReply>;
  subscribe(token: string): void;
  unsubscribe(): void;
  onEvent(listener: (name: string, payload: unknown) => void): () => void;
}

declare global {
  interface Window {
    gatehouse?: PreloadApi;
  }
}

export function httpTransport(base = ''): Transport {
  return {
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
