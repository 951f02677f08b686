// Turns a byte stream with arbitrary chunk boundaries, line noise, dropped and corrupted bytes into
// packets. The recipe is libosdp's (osdp_phy.c): hunt for SOM, check LEN against the bounds, wait for
// LEN bytes, check the CRC; a candidate that fails is a false SOM, and the hunt resumes at the byte
// after it, so a real packet hidden behind noise is never skipped.
//
// A dropped byte leaves a candidate that waits for bytes that belong to the next packet; a LEN
// corrupted upwards can make it wait for up to 1440. Nothing in the stream ends that wait, only
// silence: the owner calls `expire()` once the line has been quiet for the inter-character timeout.
import { decodePacket, HEADER_LENGTH, MARK, MAX_PACKET_LENGTH, minimumLength, SOM, type Packet, type PacketError } from './packet.ts';

export interface StreamParserStats {
  /** Packets delivered. */
  packets: number;
  /** Candidates whose CRC (or 8-bit checksum) did not match. */
  badCrc: number;
  /** Candidates whose LEN exceeded MAX_PACKET_LENGTH. */
  oversize: number;
  /** Candidates whose LEN was below the smallest packet. */
  undersize: number;
  /** Candidates with a good check character but a malformed body (reserved CTRL bits, bad security block, …). */
  malformed: number;
  /** Partial candidates given up by `expire()`. */
  expired: number;
  /** Times the hunt restarted at the byte after a rejected SOM. */
  resyncs: number;
  /** Bytes skipped while hunting for SOM, not counting 0xFF mark bytes. */
  discardedBytes: number;
}

export interface StreamParserOptions {
  /** Told of every rejected candidate, for diagnostics. */
  onError?: (error: PacketError) => void;
}

export class StreamParser {
  readonly stats: StreamParserStats = { packets: 0, badCrc: 0, oversize: 0, undersize: 0, malformed: 0, expired: 0, resyncs: 0, discardedBytes: 0 };
  #buf = new Uint8Array(2 * MAX_PACKET_LENGTH);
  #start = 0;
  #end = 0;
  /** Whether the byte just before the current candidate was a 0xFF mark. */
  #marked = false;
  readonly #onError: ((error: PacketError) => void) | undefined;

  constructor(options: StreamParserOptions = {}) {
    this.#onError = options.onError;
  }

  /** Whether bytes of an unfinished candidate are buffered (what `expire()` would give up). */
  get pending(): boolean {
    return this.#end > this.#start;
  }

  /** Adds bytes; returns the packets they complete, in stream order. */
  push(chunk: Uint8Array): Packet[] {
    this.#append(chunk);
    return this.#scan(false);
  }

  /** The line went quiet: no buffered candidate will ever complete. Returns packets found behind them. */
  expire(): Packet[] {
    return this.#scan(true);
  }

  #append(chunk: Uint8Array): void {
    const held = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      if (held + chunk.length > this.#buf.length) {
        const grown = new Uint8Array(Math.max(2 * this.#buf.length, held + chunk.length));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = held;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  #reject(error: PacketError): void {
    this.stats.resyncs++;
    this.#start++;
    this.#marked = false;
    this.#onError?.(error);
  }

  #scan(expiring: boolean): Packet[] {
    const out: Packet[] = [];
    const buf = this.#buf;
    for (;;) {
      let i = this.#start;
      while (i < this.#end && buf[i] !== SOM) {
        this.#marked = buf[i] === MARK;
        if (!this.#marked) this.stats.discardedBytes++;
        i++;
      }
      this.#start = i;
      const available = this.#end - i;
      if (available === 0) break;
      if (available < HEADER_LENGTH) {
        if (!expiring) break;
        this.stats.expired++;
        this.#reject({ code: 'too_short', field: null, message: `the line went quiet ${available} bytes into a packet header` });
        continue;
      }
      const length = buf[i + 2]! | (buf[i + 3]! << 8);
      const min = minimumLength(buf[i + 4]!);
      if (length > MAX_PACKET_LENGTH) {
        this.stats.oversize++;
        this.#reject({ code: 'length_out_of_range', field: 'LEN', message: `LEN is ${length}; OSDP allows at most ${MAX_PACKET_LENGTH}` });
        continue;
      }
      if (length < min) {
        this.stats.undersize++;
        this.#reject({ code: 'length_out_of_range', field: 'LEN', message: `LEN is ${length}; the smallest packet is ${min}` });
        continue;
      }
      if (available < length) {
        if (!expiring) break;
        this.stats.expired++;
        this.#reject({ code: 'length_mismatch', field: 'LEN', message: `LEN says ${length} bytes; the line went quiet after ${available}` });
        continue;
      }
      const result = decodePacket(buf.slice(i, i + length));
      if (result.ok) {
        this.stats.packets++;
        this.#start = i + length;
        out.push({ ...result.value, mark: this.#marked });
        this.#marked = false;
        continue;
      }
      if (result.error.code === 'bad_crc' || result.error.code === 'bad_checksum') this.stats.badCrc++;
      else this.stats.malformed++;
      this.#reject(result.error);
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return out;
  }
}
