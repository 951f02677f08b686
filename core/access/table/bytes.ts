// Minimal binary writer/reader for access tables: unsigned LEB128 varints (safe up to 2^53) with
// zig-zag for signed values, length-prefixed UTF-8 strings and raw bytes.
export class ByteWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialSize = 64) {
    this.buf = new Uint8Array(initialSize);
  }

  /** Empties the writer so one instance can encode many records. */
  reset(): this {
    this.len = 0;
    return this;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  /** Unsigned varint; v must be a non-negative safe integer. */
  uint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
    return this;
  }

  /** Signed varint (zig-zag). */
  int(v: number): this {
    return this.uint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  bytes(b: Uint8Array): this {
    this.uint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  str(s: string): this {
    return this.bytes(new TextEncoder().encode(s));
  }

  /** Ascending non-negative integers as deltas. */
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
    return this.buf.slice(0, this.len);
  }
}

export class TableFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableFormatError';
  }
}

export class ByteReader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new TableFormatError(`Truncated at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  uint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) break;
        return result;
      }
      scale *= 0x80;
    }
    throw new TableFormatError(`Malformed varint at byte ${this.pos}`);
  }

  int(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  bytes(): Uint8Array {
    const n = this.uint();
    return this.raw(n);
  }

  raw(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new TableFormatError(`Truncated: ${n} bytes wanted at byte ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes());
  }

  sortedUints(): number[] {
    const n = this.uint();
    if (n > this.buf.length) throw new TableFormatError(`Implausible list length ${n}`);
    const out: number[] = new Array(n);
    let prev = 0;
    for (let i = 0; i < n; i++) {
      prev += this.uint();
      out[i] = prev;
    }
    return out;
  }
}
