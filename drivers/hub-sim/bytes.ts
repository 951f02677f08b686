// Byte-level helpers of the hub firmware: the varint/zig-zag/length-prefixed encoding of
// docs/access-table.md, read without ever throwing past the decoder's boundary (the reader throws a
// WireFault, which the decoders turn into a typed error), plus the CRC framing the flash uses.
import { crc32 } from 'node:zlib';

/** Thrown inside decoders only; table.ts catches it and returns a typed error instead. */
export class WireFault extends Error {
  constructor(
    readonly code: 'truncated' | 'malformed_varint' | 'bad_string' | 'bad_value',
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'WireFault';
  }
}

export class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new WireFault('truncated', `truncated: a byte wanted at offset ${this.pos}`, this.pos);
    return this.buf[this.pos++]!;
  }

  /** Unsigned LEB128. Values above 2^53 − 1 cannot be represented exactly, so they are refused. */
  uint(): number {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(value)) break;
        return value;
      }
      scale *= 0x80;
    }
    throw new WireFault('malformed_varint', `malformed or oversized varint at offset ${start}`, start);
  }

  /** Zig-zag signed varint. */
  int(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  raw(n: number): Uint8Array {
    if (n > this.remaining) throw new WireFault('truncated', `truncated: ${n} bytes wanted at offset ${this.pos}, ${this.remaining} left`, this.pos);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  bytes(): Uint8Array {
    return this.raw(this.uint());
  }

  str(): string {
    const at = this.pos;
    const b = this.bytes();
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      throw new WireFault('bad_string', `string at offset ${at} is not UTF-8`, at);
    }
  }

  /** Presence byte (0 or 1), then a signed varint. */
  optionalInt(): number | null {
    const at = this.pos;
    const present = this.u8();
    if (present > 1) throw new WireFault('bad_value', `presence byte ${present} at offset ${at} (0 or 1 expected)`, at);
    return present ? this.int() : null;
  }

  /** Count, then deltas from the previous value (the first from 0). */
  sortedUints(): number[] {
    const at = this.pos;
    const n = this.uint();
    // Every value takes at least one byte: a larger count is a corrupt length, not a long list.
    if (n > this.remaining) throw new WireFault('truncated', `list of ${n} values at offset ${at} is longer than the ${this.remaining} bytes left`, at);
    const out: number[] = [];
    let prev = 0;
    for (let i = 0; i < n; i++) {
      prev += this.uint();
      if (!Number.isSafeInteger(prev)) throw new WireFault('bad_value', `list value overflows at offset ${this.pos}`, this.pos);
      out.push(prev);
    }
    return out;
  }
}

export class Writer {
  private chunks: number[] = [];

  u8(v: number): this {
    this.chunks.push(v & 0xff);
    return this;
  }

  uint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
    while (v >= 0x80) {
      this.chunks.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.chunks.push(v);
    return this;
  }

  int(v: number): this {
    return this.uint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  raw(b: Uint8Array): this {
    for (const x of b) this.chunks.push(x);
    return this;
  }

  bytes(b: Uint8Array): this {
    return this.uint(b.length).raw(b);
  }

  str(s: string): this {
    return this.bytes(new TextEncoder().encode(s));
  }

  optionalInt(v: number | null): this {
    return v === null ? this.u8(0) : this.u8(1).int(v);
  }

  sortedUints(values: readonly number[]): this {
    this.uint(values.length);
    let prev = 0;
    for (const v of values) {
      this.uint(v - prev);
      prev = v;
    }
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

export function checksum(b: Uint8Array): number {
  return crc32(b) >>> 0;
}

// ── Flash slot framing ────────────────────────────────────────────────────────────────────────────
// A slot is `magic(4) · payload length (u32 LE) · payload · CRC-32 of the payload (u32 LE)`. Atomic
// replacement already guarantees a slot is the old or the new version; the CRC catches media errors
// and a file that was not written by this firmware.

export function frameSlot(magic: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(magic).subarray(0, 4), 0);
  view.setUint32(4, payload.length, true);
  out.set(payload, 8);
  view.setUint32(8 + payload.length, checksum(payload), true);
  return out;
}

/** The payload of a framed slot, or null when the slot is not a whole, intact slot of that magic. */
export function unframeSlot(magic: string, slot: Uint8Array): Uint8Array | null {
  if (slot.length < 12) return null;
  if (new TextDecoder().decode(slot.subarray(0, 4)) !== magic) return null;
  const view = new DataView(slot.buffer, slot.byteOffset, slot.length);
  const len = view.getUint32(4, true);
  if (len !== slot.length - 12) return null;
  const payload = slot.subarray(8, 8 + len);
  return view.getUint32(8 + len, true) === checksum(payload) ? payload : null;
}
