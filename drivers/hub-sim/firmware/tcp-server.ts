// The firmware on a TCP listener, as a LAN hub: Gatehouse connects (drivers/transport
// tcp-hub-transport.ts), each connection is a new OSDP session. A hub serves one host: a new
// connection replaces the previous one, as a real hub's single socket would after the host reconnects.
import * as net from 'node:net';
import type { Clock } from '../../osdp/clock.ts';
import type { Peripheral } from '../../osdp/peripheral.ts';
import { FaultyPipe, type FaultConfig } from './faults.ts';
import type { HubFirmware } from './firmware.ts';

export interface TcpHubServerOptions {
  /** Default 127.0.0.1: a test hub is not for the LAN unless asked. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  faults?: { toHub?: FaultConfig; toHost?: FaultConfig };
  seed?: number;
  clock?: Clock;
}

export interface TcpHubServer {
  readonly host: string;
  readonly port: number;
  readonly toHub: FaultyPipe;
  readonly toHost: FaultyPipe;
  setFaults(config: FaultConfig): void;
  /** Resets the open connection (a cable pulled on the hub's side). */
  dropConnections(): void;
  /** Power cycle: connections reset, the firmware boots from flash; the listener comes back. */
  reboot(): void;
  close(): Promise<void>;
}

export async function startTcpHub(firmware: HubFirmware, o: TcpHubServerOptions = {}): Promise<TcpHubServer> {
  const seed = o.seed ?? 1;
  let current: { socket: net.Socket; pd: Peripheral; listeners: Set<(chunk: Uint8Array) => void> } | null = null;
  const toHub = new FaultyPipe((chunk) => current?.listeners.forEach((cb) => cb(chunk)), { config: o.faults?.toHub, seed, clock: o.clock });
  const toHost = new FaultyPipe((chunk) => current?.socket.write(chunk), { config: o.faults?.toHost, seed: seed + 1, clock: o.clock });

  const end = () => {
    if (!current) return;
    firmware.detach(current.pd);
    current.socket.destroy();
    current = null;
    toHub.clear();
    toHost.clear();
  };

  const server = net.createServer((socket) => {
    end();
    socket.setNoDelay(true);
    const listeners = new Set<(chunk: Uint8Array) => void>();
    const link = {
      write: (bytes: Uint8Array) => {
        toHost.push(bytes);
        return Promise.resolve();
      },
      onData: (cb: (chunk: Uint8Array) => void) => {
        listeners.add(cb);
        return () => listeners.delete(cb);
      },
    };
    const session = { socket, pd: firmware.attach(link), listeners };
    current = session;
    socket.on('data', (chunk) => {
      if (current === session) toHub.push(new Uint8Array(chunk));
    });
    // The host went away or reset us: the session ends; errors are only that.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (current === session) end();
    });
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    host,
    port,
    toHub,
    toHost,
    setFaults(config) {
      toHub.config = config;
      toHost.config = config;
    },
    dropConnections: end,
    reboot() {
      end();
      firmware.reboot();
    },
    close() {
      end();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
