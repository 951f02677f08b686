// The one shape every IQ hub link has, whatever carries it (USB bulk endpoints, TCP, a simulator):
// an ordered, reliable byte stream with no message boundaries. Framing, sequence numbers and
// retransmission belong to the protocol layer above (drivers/osdp, drivers/iq), which is why this
// interface stays this small.

export type CloseKind =
  /** `close()` was called on this side. */
  | 'local'
  /** The hub side ended the stream (TCP FIN or reset). */
  | 'remote'
  /** The USB device went away (unplugged, powered off, reset by the OS). */
  | 'unplugged'
  /** The link broke in a way that leaves the stream's state unknown (persistent stall, write timeout, I/O error). */
  | 'error';

export interface CloseReason {
  readonly kind: CloseKind;
  /** Plain language, fit for a log line or a status column. */
  readonly message: string;
  readonly cause?: unknown;
}

export interface ByteStream {
  /** Resolves once the bytes are handed to the link; rejects with `TransportClosedError` once the stream is closed. */
  write(bytes: Uint8Array): Promise<void>;
  /** Chunks arrive in order; their boundaries mean nothing. A chunk is the listener's to keep. Returns an unsubscribe function. */
  onData(cb: (chunk: Uint8Array) => void): () => void;
  /** Called exactly once per stream, also when registered after the stream closed. Returns an unsubscribe function. */
  onClose(cb: (reason: CloseReason) => void): () => void;
  /** Idempotent; never rejects. */
  close(): Promise<void>;
  /** For logs: what this stream is connected to, e.g. `usb 1209:000c serial HUB-0042 (bus 1 address 5)` or `tcp 10.0.4.7:7374`. */
  describe(): string;
}

export class TransportClosedError extends Error {
  override readonly name = 'TransportClosedError';
  readonly code = 'TRANSPORT_CLOSED';
  constructor(
    readonly stream: string,
    readonly reason: CloseReason,
  ) {
    super(`${stream}: ${reason.message}`);
  }
}

/**
 * Listener bookkeeping shared by the transports, so "close fires once", "nothing is delivered after
 * close" and "no byte is lost before the first listener" live in one place.
 */
export class StreamSignals {
  #data = new Set<(chunk: Uint8Array) => void>();
  #close = new Set<(reason: CloseReason) => void>();
  #reason: CloseReason | undefined;
  // Bytes that arrived while nobody listened (a link starts reading as soon as it is open, and the
  // protocol layer subscribes a tick later), or that wait behind such bytes to keep the order.
  #pending: Uint8Array[] = [];
  #flushScheduled = false;

  get closed(): boolean {
    return this.#reason !== undefined;
  }

  get reason(): CloseReason | undefined {
    return this.#reason;
  }

  onData(cb: (chunk: Uint8Array) => void): () => void {
    if (this.#reason) return () => {};
    this.#data.add(cb);
    if (this.#pending.length > 0) this.#scheduleFlush();
    return () => this.#data.delete(cb);
  }

  onClose(cb: (reason: CloseReason) => void): () => void {
    const reason = this.#reason;
    if (reason) {
      // A listener that arrives late still learns the outcome, on its own tick like every other call.
      let active = true;
      queueMicrotask(() => {
        if (active) invokeListener(cb, reason);
      });
      return () => {
        active = false;
      };
    }
    this.#close.add(cb);
    return () => this.#close.delete(cb);
  }

  emitData(chunk: Uint8Array): void {
    if (this.#reason || chunk.length === 0) return;
    if (this.#data.size === 0 || this.#pending.length > 0) {
      this.#pending.push(chunk);
      return;
    }
    for (const cb of [...this.#data]) invokeListener(cb, chunk);
  }

  /** Returns false when the stream was already closed: the first reason wins. */
  close(reason: CloseReason): boolean {
    if (this.#reason) return false;
    // What arrived before the end is delivered before the end is announced.
    this.#flush();
    this.#reason = reason;
    const listeners = [...this.#close];
    this.#close.clear();
    this.#data.clear();
    this.#pending = [];
    for (const cb of listeners) invokeListener(cb, reason);
    return true;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    while (!this.#reason && this.#data.size > 0 && this.#pending.length > 0) {
      const chunk = this.#pending.shift()!;
      for (const cb of [...this.#data]) invokeListener(cb, chunk);
    }
  }
}

export function invokeListener<T>(cb: (value: T) => void, value: T): void {
  try {
    cb(value);
  } catch (err) {
    // A listener's bug must neither stop the read loop nor pass for a link failure; rethrowing on a
    // fresh microtask makes it an uncaught exception, which the process (and vitest) reports.
    queueMicrotask(() => {
      throw err;
    });
  }
}

/** Copies a transfer's bytes out of whatever buffer the USB stack or socket lent us. */
export function copyBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}
