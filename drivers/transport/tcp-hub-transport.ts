// An IQ hub on the LAN as a byte stream over one TCP connection. The hub listens (default port
// 7374, one above Gatehouse's own 7373), Gatehouse connects. TCP already gives order and
// integrity; what it does not give is noticing a hub that lost power, hence keepalive.
import * as net from 'node:net';
import { StreamSignals, TransportClosedError, type ByteStream, type CloseReason } from './byte-stream.ts';

export const DEFAULT_HUB_TCP_PORT = 7374;

export interface TcpHubOptions {
  readonly host: string;
  /** Default 7374. */
  readonly port?: number;
  /** Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Idle time before the first keepalive probe, default 10 000 ms. 0 turns keepalive off. */
  readonly keepAliveMs?: number;
  /** For tests: how the socket is made. Default net.createConnection. */
  readonly createConnection?: (options: net.NetConnectOpts) => net.Socket;
}

export type TcpConnectFailure = 'timeout' | 'refused' | 'unreachable' | 'failed';

export class TcpHubConnectError extends Error {
  override readonly name = 'TcpHubConnectError';
  constructor(
    readonly code: TcpConnectFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function connectTcpHub(options: TcpHubOptions): Promise<TcpHubTransport> {
  const port = options.port ?? DEFAULT_HUB_TCP_PORT;
  const timeoutMs = options.connectTimeoutMs ?? 5000;
  const where = `${options.host}:${port}`;
  const create = options.createConnection ?? ((o: net.NetConnectOpts) => net.createConnection(o));

  return new Promise<TcpHubTransport>((resolve, reject) => {
    const socket = create({ host: options.host, port });
    const timer = setTimeout(() => {
      settle();
      socket.destroy();
      reject(new TcpHubConnectError('timeout', `The IQ hub at ${where} did not answer within ${timeoutMs} ms (connect timed out). Check that it is powered, on the network, and that the address is right.`));
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => {
      settle();
      socket.destroy();
      reject(connectError(err, where));
    };
    const onConnect = (): void => {
      settle();
      resolve(new TcpHubTransport(socket, where, options.keepAliveMs ?? 10_000));
    };
    const settle = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('connect', onConnect);
    };
    socket.once('error', onError);
    socket.once('connect', onConnect);
  });
}

function connectError(err: NodeJS.ErrnoException, where: string): TcpHubConnectError {
  switch (err.code) {
    case 'ECONNREFUSED':
      return new TcpHubConnectError('refused', `The IQ hub at ${where} refused the connection: nothing listens on that port (is it the hub's address, and its link port ${DEFAULT_HUB_TCP_PORT}?).`, { cause: err });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new TcpHubConnectError('unreachable', `The IQ hub at ${where} cannot be reached (${err.code}): check the address and the network.`, { cause: err });
    case 'ETIMEDOUT':
      return new TcpHubConnectError('timeout', `The IQ hub at ${where} did not answer (connect timed out).`, { cause: err });
    default:
      return new TcpHubConnectError('failed', `Could not connect to the IQ hub at ${where}: ${err.message}`, { cause: err });
  }
}

export class TcpHubTransport implements ByteStream {
  readonly #socket: net.Socket;
  readonly #where: string;
  readonly #signals = new StreamSignals();
  #error: Error | undefined;
  #closing = false;
  #closed: Promise<void>;

  /** Use connectTcpHub. */
  constructor(socket: net.Socket, where: string, keepAliveMs: number) {
    this.#socket = socket;
    this.#where = where;
    socket.setNoDelay(true);
    if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);
    // Registered for the life of the socket: an 'error' event without a listener would crash the process.
    socket.on('error', (err) => {
      this.#error ??= err;
    });
    socket.on('data', (buf: Buffer) => this.#signals.emitData(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)));
    this.#closed = new Promise<void>((resolve) => {
      socket.once('close', () => {
        this.#signals.close(this.#reason());
        resolve();
      });
    });
  }

  describe(): string {
    return `tcp ${this.#where}`;
  }

  get closed(): boolean {
    return this.#signals.closed || this.#closing || this.#socket.destroyed;
  }

  onData(cb: (chunk: Uint8Array) => void): () => void {
    return this.#signals.onData(cb);
  }

  onClose(cb: (reason: CloseReason) => void): () => void {
    return this.#signals.onClose(cb);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.closed || !this.#socket.writable) return Promise.reject(this.#closedError());
    return new Promise<void>((resolve, reject) => {
      // The callback fires once the bytes are with the kernel, which paces a writer that awaits each write.
      this.#socket.write(bytes, (err) => {
        if (err) reject(this.#closedError());
        else resolve();
      });
    });
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      // No goodbye to wait for: the protocol above decides what is said before closing.
      this.#socket.destroy();
    }
    return this.#closed;
  }

  #reason(): CloseReason {
    if (this.#closing) return { kind: 'local', message: 'closed by Gatehouse' };
    const err = this.#error as NodeJS.ErrnoException | undefined;
    if (!err) return { kind: 'remote', message: `the hub at ${this.#where} closed the connection` };
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      return { kind: 'remote', message: `the hub at ${this.#where} reset the connection (${err.code})`, cause: err };
    }
    if (err.code === 'ETIMEDOUT') {
      return { kind: 'error', message: `the hub at ${this.#where} stopped answering (keepalive timed out)`, cause: err };
    }
    return { kind: 'error', message: `connection to the hub at ${this.#where} failed: ${err.message}`, cause: err };
  }

  #closedError(): TransportClosedError {
    return new TransportClosedError(this.describe(), this.#signals.reason ?? (this.#closing ? { kind: 'local', message: 'closed by Gatehouse' } : this.#reason()));
  }
}
