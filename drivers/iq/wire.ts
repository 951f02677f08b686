// Byte-level primitives of the IQ protocol, in the house style of the access tables
// (core/access/table/bytes.ts, which drivers may not import): unsigned LEB128 varints, zig-zag for
// signed values, length-prefixed UTF-8 strings and byte strings.
//
// Two differences from the table reader, because these bytes arrive from a device over a link:
//  - the reader never throws out of a decoder: it raises a WireFailure, which the decoders' single
//    entry point turns into a typed result; anything else escaping is a bug the fuzz test finds;
//  - encodings are canonical (no overlong varints, booleans are 0 or 1), so every accepted message
//    re-encodes to exactly its own bytes. That one property, checked by the fuzz test, is what shows
//    the decoders accept nothing they cannot represent — no slack, no trailing bytes.

export type DecodeErrorCode =
  /** The bytes end before the message does (also: a count promises more elements than there are bytes). */
  | 'truncated'
  /** The message is complete but bytes follow it. */
  | 'trailing_bytes'
  /** A field holds a value the protocol does not allow (out of range, unknown code, bad UTF-8, …). */
  | 'bad_field'
  /** The MFG payload does not start with Gatehouse's vendor code. */
  | 'bad_vendor'
  /** The MFG payload's protocol version is not one this codec speaks. */
  | 'unsupported_version'
  /** The MFG subcommand (or reply) code is not defined. */
  | 'unknown_command';

export interface DecodeError {
  code: DecodeErrorCode;
  /** Path of the offending field (`events[3].card_uid`), or null when no single field is at fault. */
  field: string | null;
  message: string;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

/**
 * Not an Error on purpose: decoding junk fails often (the fuzz test does it a million times), and an
 * Error would capture a stack trace each time.
 */
export class WireFailure {
  constructor(readonly error: DecodeError) {}
}

export function fail(code: DecodeErrorCode, field: string | null, message: string): never {
  throw new WireFailure({ code, field, message });
}

/** Runs a decoder body, turning a WireFailure into a typed result. Other exceptions are bugs and propagate. */
export function decodeWith<T>(bytes: Uint8Array, body: (r: Reader) => T): DecodeResult<T> {
  try {
    const r = new Reader(bytes);
    const value = body(r);
    r.end();
    return { ok: true, value };
  } catch (e) {
    if (e instanceof WireFailure) return { ok: false, error: e.error };
    throw e;
  }
}

const MAX_VARINT_BYTES = 8;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  end(): void {
    if (this.pos < this.buf.length) {
      fail('trailing_bytes', null, `${this.buf.length - this.pos} byte(s) follow the end of the message at byte ${this.pos}`);
    }
  }

  u8(field: string): number {
    if (this.pos >= this.buf.length) fail('truncated', field, `message ends at byte ${this.pos} before ${field}`);
    return this.buf[this.pos++]!;
  }

  bool(field: string): boolean {
    const b = this.u8(field);
    if (b > 1) fail('bad_field', field, `${field} must be 0 or 1, got ${b}`);
    return b === 1;
  }

  /** A byte that must be one of `codes` (a wire table). */
  code<T>(field: string, codes: ReadonlyMap<number, T>): T {
    const b = this.u8(field);
    const v = codes.get(b);
    if (v === undefined) fail('bad_field', field, `${field} code ${b} is not defined`);
    return v;
  }

  uint(field: string, max = Number.MAX_SAFE_INTEGER, min = 0): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.buf.length) fail('truncated', field, `message ends inside the varint ${field} (at byte ${start})`);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        // A zero last group after the first adds nothing: the same number has a shorter encoding.
        if (b === 0 && i > 0) fail('bad_field', field, `${field} is an overlong varint (at byte ${start})`);
        if (!Number.isSafeInteger(result)) fail('bad_field', field, `${field} exceeds 2^53 - 1`);
        if (result > max || result < min) fail('bad_field', field, `${field} = ${result} is outside ${min}..${max}`);
        return result;
      }
      scale *= 0x80;
    }
    return fail('bad_field', field, `${field} is a varint longer than ${MAX_VARINT_BYTES} bytes (at byte ${start})`);
  }

  int(field: string, min: number, max: number): number {
    const z = this.uint(field);
    const v = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    if (v < min || v > max) fail('bad_field', field, `${field} = ${v} is outside ${min}..${max}`);
    return v;
  }

  raw(field: string, n: number): Uint8Array {
    if (this.remaining < n) fail('truncated', field, `${field} needs ${n} byte(s) at byte ${this.pos}, ${this.remaining} left`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Length-prefixed bytes whose length must be one of `lengths`. */
  bytes(field: string, lengths: readonly number[]): Uint8Array {
    const n = this.uint(field);
    if (!lengths.includes(n)) fail('bad_field', field, `${field} is ${n} byte(s) long; allowed: ${lengths.join(', ')}`);
    return this.raw(field, n);
  }

  str(field: string, minBytes: number, maxBytes: number, pattern?: RegExp): string {
    const n = this.uint(field);
    if (n < minBytes || n > maxBytes) fail('bad_field', field, `${field} is ${n} byte(s) long; allowed ${minBytes}..${maxBytes}`);
    const b = this.raw(field, n);
    let s: string;
    try {
      s = utf8.decode(b);
    } catch {
      return fail('bad_field', field, `${field} is not valid UTF-8`);
    }
    if (pattern && !pattern.test(s)) fail('bad_field', field, `${field} ${JSON.stringify(s)} does not match ${pattern.source}`);
    return s;
  }

  /**
   * An element count, checked before anything is allocated: against the protocol's limit, and
   * against the bytes left, since every element takes at least `minElementBytes`.
   */
  count(field: string, max: number, minElementBytes: number): number {
    const n = this.uint(field);
    if (n > max) fail('bad_field', field, `${field} count ${n} exceeds ${max}`);
    if (n * minElementBytes > this.remaining) {
      fail('truncated', field, `${field} count ${n} needs at least ${n * minElementBytes} byte(s), ${this.remaining} left`);
    }
    return n;
  }
}

export class Writer {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialSize = 64) {
    this.buf = new Uint8Array(initialSize);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number, field = 'u8'): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${field}: ${v} is not a byte`);
    this.ensure(1);
    this.buf[this.len++] = v;
    return this;
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  /** The wire code of `value` in a table built by `wireTable`. */
  code<T>(value: T, codes: ReadonlyMap<T, number>, field: string): this {
    const c = codes.get(value);
    if (c === undefined) throw new RangeError(`${field}: ${String(value)} has no wire code`);
    return this.u8(c);
  }

  uint(v: number, field = 'varint', max = Number.MAX_SAFE_INTEGER, min = 0): this {
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`${field}: ${v} is outside ${min}..${max}`);
    this.ensure(MAX_VARINT_BYTES);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
    return this;
  }

  int(v: number, field: string, min: number, max: number): this {
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`${field}: ${v} is outside ${min}..${max}`);
    return this.uint(v >= 0 ? v * 2 : -v * 2 - 1, field);
  }

  raw(b: Uint8Array, field = 'raw', n?: number): this {
    if (n !== undefined && b.length !== n) throw new RangeError(`${field}: must be ${n} bytes, got ${b.length}`);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  bytes(b: Uint8Array, field: string, lengths: readonly number[]): this {
    if (!lengths.includes(b.length)) throw new RangeError(`${field}: ${b.length} bytes; allowed: ${lengths.join(', ')}`);
    this.uint(b.length);
    return this.raw(b);
  }

  str(s: string, field: string, minBytes: number, maxBytes: number, pattern?: RegExp): this {
    // A lone surrogate would be replaced by U+FFFD on encoding and decode to a different string.
    if (LONE_SURROGATE.test(s)) throw new RangeError(`${field}: not well-formed Unicode`);
    const b = utf8Encoder.encode(s);
    if (b.length < minBytes || b.length > maxBytes) throw new RangeError(`${field}: ${b.length} bytes; allowed ${minBytes}..${maxBytes}`);
    if (pattern && !pattern.test(s)) throw new RangeError(`${field}: ${JSON.stringify(s)} does not match ${pattern.source}`);
    this.uint(b.length);
    return this.raw(b);
  }

  count(n: number, field: string, max: number): this {
    return this.uint(n, field, max);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Two-way map between names and their wire byte codes, built from one list so the directions cannot disagree. */
export function wireTable<T extends string>(entries: readonly (readonly [number, T])[]): {
  byCode: ReadonlyMap<number, T>;
  byName: ReadonlyMap<T, number>;
  names: readonly T[];
} {
  const byCode = new Map<number, T>();
  const byName = new Map<T, number>();
  for (const [code, name] of entries) {
    if (byCode.has(code) || byName.has(name)) throw new Error(`duplicate wire code ${code} / ${name}`);
    byCode.set(code, name);
    byName.set(name, code);
  }
  return { byCode, byName, names: entries.map(([, n]) => n) };
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`not hex: ${s}`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}
