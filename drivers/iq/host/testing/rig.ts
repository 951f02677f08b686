// The client's test bench: a TestHub behind an OSDP Peripheral, an in-memory line (lossy when asked)
// with a transport-like stream on the host's end, and simulated time. A test may cut the line and plug
// a new one into the same hub, as an installer pulls and re-plugs a cable.
import type { Peripheral } from '../../../osdp/peripheral.ts';
import { FakeClock } from '../../../osdp/testing/fake-clock.ts';
import { memoryLinkPair, type LineFaults, type MemoryLink } from '../../../osdp/testing/memory-link.ts';
import { createRng } from '../../../osdp/testing/prng.ts';
import { StreamSignals, TransportClosedError, type ByteStream, type CloseReason } from '../../../transport/byte-stream.ts';
import { IqHubClient, type IqHubClientOptions } from '../hub-client.ts';
import { TestHub, type TestHubOptions } from './test-hub.ts';

export const KEY = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
export const OTHER_KEY = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
/** Wall-clock time at simulated 0. */
export const T0 = Date.parse('2026-03-02T09:00:00Z');

/** The host's end of a line, as drivers/transport streams behave: close fires once, writes fail after it. */
export class TestStream implements ByteStream {
  readonly #signals = new StreamSignals();
  readonly #link: MemoryLink;

  constructor(link: MemoryLink) {
    this.#link = link;
    link.onData((chunk) => this.#signals.emitData(chunk));
  }

  get closed(): boolean {
    return this.#signals.closed;
  }

  write(bytes: Uint8Array): Promise<void> {
    const reason = this.#signals.reason;
    return reason ? Promise.reject(new TransportClosedError(this.describe(), reason)) : this.#link.write(bytes);
  }

  onData(cb: (chunk: Uint8Array) => void): () => void {
    return this.#signals.onData(cb);
  }

  onClose(cb: (reason: CloseReason) => void): () => void {
    return this.#signals.onClose(cb);
  }

  close(): Promise<void> {
    this.#signals.close({ kind: 'local', message: 'closed by Gatehouse' });
    return Promise.resolve();
  }

  /** The far end went away. */
  closeRemote(message: string): void {
    this.#signals.close({ kind: 'remote', message });
  }

  describe(): string {
    return 'test line';
  }
}

export interface Line {
  stream: TestStream;
  pd: Peripheral;
  /** Both ends go: the hub stops listening and the host's stream closes. */
  cut(message?: string): void;
}

export interface RigOptions {
  seed?: number;
  faults?: LineFaults;
  hub?: Partial<TestHubOptions>;
  /** The hub's provisioned key; null: a hub in install mode. */
  hubKey?: Uint8Array | null;
}

export function rig(o: RigOptions = {}) {
  const clock = new FakeClock();
  const rng = createRng(o.seed ?? 1);
  const now = () => T0 + clock.now();
  const hub = new TestHub({ now, ...o.hub });
  const hubKey = o.hubKey === undefined ? KEY : o.hubKey;
  if (hubKey) hub.scbk = hubKey.slice();

  const plug = (faults: LineFaults = o.faults ?? {}): Line => {
    const [hostEnd, hubEnd] = memoryLinkPair(clock, rng, faults, faults);
    const stream = new TestStream(hostEnd);
    const pd = hub.attach(hubEnd, clock, (n) => rng.bytes(n));
    return {
      stream,
      pd,
      cut(message = 'the cable was pulled') {
        pd.stop();
        stream.closeRemote(message);
      },
    };
  };

  /** Lets simulated time run until `promise` settles (at most `ms` of it). */
  const run = <T>(promise: Promise<T>, ms = 600_000): Promise<T> => clock.run(promise, clock.now() + ms);

  const connect = async (options: Partial<IqHubClientOptions> = {}, line = plug()) => {
    const client = await run(
      IqHubClient.connect({
        link: line.stream,
        address: 'test:hub',
        secureChannel: { scbk: KEY },
        clock,
        now,
        osdp: { random: (n) => rng.bytes(n) },
        ...options,
      }),
    );
    return { client, line };
  };

  return { clock, rng, hub, plug, run, connect, now };
}
