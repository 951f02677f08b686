// A ByteLink's incoming side as packets: the stream parser plus the inter-character timeout that tells
// it when a partial candidate will never complete (20 ms in the OSDP spec; libosdp
// doc/protocol/introduction.rst). Shared by the CP and the PD.
import type { Clock, Timer } from './clock.ts';
import type { ByteLink } from './link.ts';
import type { Packet } from './packet.ts';
import { StreamParser, type StreamParserStats } from './stream-parser.ts';

export const DEFAULT_INTER_CHARACTER_TIMEOUT_MS = 20;

export class PacketReceiver {
  readonly #parser = new StreamParser();
  #quiet: Timer | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(
    private readonly link: ByteLink,
    private readonly clock: Clock,
    private readonly interCharacterTimeoutMs: number,
    private readonly onPacket: (packet: Packet) => void,
  ) {}

  get stats(): Readonly<StreamParserStats> {
    return this.#parser.stats;
  }

  start(): void {
    this.#unsubscribe ??= this.link.onData((chunk) => this.#receive(chunk));
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#quiet?.cancel();
    this.#quiet = null;
  }

  #receive(chunk: Uint8Array): void {
    this.#quiet?.cancel();
    this.#quiet = null;
    this.#deliver(this.#parser.push(chunk));
    if (this.#parser.pending && this.#unsubscribe) {
      this.#quiet = this.clock.setTimeout(() => {
        this.#quiet = null;
        this.#deliver(this.#parser.expire());
      }, this.interCharacterTimeoutMs);
    }
  }

  #deliver(packets: Packet[]): void {
    for (const packet of packets) this.onPacket(packet);
  }
}
