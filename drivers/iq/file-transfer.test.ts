// FILETRANSFER / FTSTAT codecs, and the host's side of a table transfer: fragmenting, resuming by
// offset after a disconnect, and reading the hash ACTIVATE_TABLE must name from the file's head.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFileTransfer,
  decodeFtStat,
  encodeFileTransfer,
  encodeFtStat,
  fragmentFile,
  FT_STATUS,
  ftStatusName,
  maxFragmentSize,
  prefixSha256,
  resumeOffset,
  tableFileHead,
} from './file-transfer.ts';
import type { ReplyOf } from './messages.ts';
import { decodeReply, encodeReply } from './mfg.ts';
import { fileTransferArbitrary, ftStatArbitrary } from './testing/arbitraries.ts';
import { fromHex } from './wire.ts';

describe('codecs', () => {
  it('FILETRANSFER: round trip, every prefix truncated, every extension trailing', () => {
    fc.assert(
      fc.property(fileTransferArbitrary, fc.uint8Array({ minLength: 1, maxLength: 4 }), (ft, extra) => {
        const bytes = encodeFileTransfer(ft);
        expect(bytes.length).toBe(11 + ft.data.length);
        const r = decodeFileTransfer(bytes);
        expect(r).toEqual({ ok: true, value: ft });
        for (const n of [0, 1, 10, bytes.length - 1]) {
          if (n < bytes.length) expect(decodeFileTransfer(bytes.subarray(0, n))).toMatchObject({ ok: false, error: { code: 'truncated' } });
        }
        expect(decodeFileTransfer(Uint8Array.from([...bytes, ...extra]))).toMatchObject({ ok: false, error: { code: 'trailing_bytes' } });
      }),
    );
  });

  it('FILETRANSFER refuses a fragment past the end and an empty file', () => {
    // 4-byte file, fragment of 4 at offset 1
    expect(decodeFileTransfer(fromHex('80 04 00 00 00 01 00 00 00 04 00 47 48 41 54'))).toMatchObject({ ok: false, error: { code: 'bad_field', field: 'offset' } });
    expect(decodeFileTransfer(fromHex('80 00 00 00 00 00 00 00 00 00 00'))).toMatchObject({ ok: false, error: { code: 'bad_field', field: 'total_size' } });
    // An idle message (no data) at the end of the file is how the host waits out "finishing".
    expect(decodeFileTransfer(fromHex('80 04 00 00 00 04 00 00 00 00 00'))).toMatchObject({ ok: true, value: { offset: 4, data: new Uint8Array(0) } });
  });

  it('FTSTAT: round trip of all 7-byte values without reserved bits; reserved bits refused', () => {
    fc.assert(
      fc.property(ftStatArbitrary, (s) => {
        expect(decodeFtStat(encodeFtStat(s))).toEqual({ ok: true, value: s });
      }),
    );
    expect(decodeFtStat(fromHex('08 00 00 00 00 00 00'))).toMatchObject({ ok: false, error: { code: 'bad_field', field: 'action' } });
    expect(decodeFtStat(fromHex('01 00 00 00 00 00'))).toMatchObject({ ok: false, error: { code: 'truncated' } });
    expect(decodeFtStat(fromHex('07 E8 03 FF FF 00 04'))).toEqual({
      ok: true,
      value: { interleave: true, leave_secure_channel: true, poll_response_available: true, delay_ms: 1000, status: -1, update_msg_max: 1024 },
    });
  });

  it('names the status values', () => {
    expect(ftStatusName(FT_STATUS.processed)).toBe('processed');
    expect(ftStatusName(-3)).toBe('malformed');
    expect(ftStatusName(4)).toBe('unknown');
    expect(ftStatusName(-4)).toBe('unknown');
  });
});

/** A hub's staging logic, as docs/iq-protocol.md describes it, to run the host's helpers against. */
class StagingHub {
  staged: { ft_type: number; total: number; bytes: number[] } | null = null;

  receive(data: Uint8Array): number {
    const r = decodeFileTransfer(data);
    if (!r.ok) return FT_STATUS.malformed;
    const ft = r.value;
    if (ft.ft_type !== 0x80 && ft.ft_type !== 0x81) return FT_STATUS.unrecognized;
    if (ft.offset === 0 && ft.data.length > 0) this.staged = { ft_type: ft.ft_type, total: ft.total_size, bytes: [] };
    const s = this.staged;
    if (!s || s.total !== ft.total_size || s.ft_type !== ft.ft_type || ft.offset > s.bytes.length) return FT_STATUS.malformed;
    for (let i = 0; i < ft.data.length; i++) {
      const at = ft.offset + i;
      if (at < s.bytes.length) {
        if (s.bytes[at] !== ft.data[i]) return FT_STATUS.malformed;
      } else s.bytes.push(ft.data[i]!);
    }
    return s.bytes.length === s.total ? FT_STATUS.processed : FT_STATUS.ok;
  }

  fileState(): ReplyOf<'file_state'> {
    const s = this.staged;
    const state: ReplyOf<'file_state'> = s
      ? {
          type: 'file_state',
          ft_type: s.ft_type === 0x80 ? 'table' : 'diff',
          total_size: s.total,
          received: s.bytes.length,
          prefix_sha256: new Uint8Array(createHash('sha256').update(Uint8Array.from(s.bytes)).digest()),
          max_file_size: 1 << 24,
        }
      : { type: 'file_state', ft_type: 'none', total_size: 0, received: 0, prefix_sha256: new Uint8Array(32), max_file_size: 1 << 24 };
    // Through the wire, as the host would see it.
    const back = decodeReply(encodeReply(state));
    if (!back.ok || back.value.type !== 'file_state') throw new Error('FILE_STATE does not round-trip');
    return back.value;
  }
}

describe('sending a table', () => {
  it('fragments cover the file exactly, in order, each within the size', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.integer({ min: 1, max: 1500 }), (file, max) => {
        const frags = fragmentFile(file, 'table', max);
        let at = 0;
        for (const f of frags) {
          expect(f.offset).toBe(at);
          expect(f.data.length).toBeGreaterThan(0);
          expect(f.data.length).toBeLessThanOrEqual(max);
          expect(f.total_size).toBe(file.length);
          at += f.data.length;
        }
        expect(at).toBe(file.length);
        expect(Buffer.concat(frags.map((f) => f.data))).toEqual(Buffer.from(file));
      }),
    );
  });

  it('resumes after a disconnect at the staged length, and only for the same bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 2, maxLength: 4000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.nat(),
        fc.constantFrom('table' as const, 'diff' as const),
        (file, max, cut, kind) => {
          const hub = new StagingHub();
          const frags = fragmentFile(file, kind, max);
          const sentBeforeDrop = cut % frags.length;
          for (const f of frags.slice(0, sentBeforeDrop)) expect(hub.receive(encodeFileTransfer(f))).toBe(FT_STATUS.ok);
          // Link drops; the host asks where to go on.
          const from = resumeOffset(file, kind, hub.fileState());
          expect(from).toBe(frags[sentBeforeDrop]!.offset);
          const rest = fragmentFile(file, kind, max, from);
          const answers = rest.map((f) => hub.receive(encodeFileTransfer(f)));
          expect(answers.at(-1)).toBe(FT_STATUS.processed);
          expect(Uint8Array.from(hub.staged!.bytes)).toEqual(file);
          // Another file of the same size, or the same bytes as another kind: start over.
          const other = file.slice();
          other[0] = other[0]! ^ 1;
          const state = hub.fileState();
          expect(resumeOffset(file, kind, state)).toBe(file.length);
          expect(resumeOffset(other, kind, state)).toBe(0);
          expect(resumeOffset(file, kind === 'table' ? 'diff' : 'table', state)).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a retransmitted fragment is harmless; a gap or changed bytes are refused and keep what was staged', () => {
    const file = Uint8Array.from({ length: 100 }, (_, i) => i);
    const [a, b, c] = fragmentFile(file, 'table', 40);
    const hub = new StagingHub();
    expect(hub.receive(encodeFileTransfer(a!))).toBe(FT_STATUS.ok);
    expect(hub.receive(encodeFileTransfer(a!))).toBe(FT_STATUS.ok);
    expect(hub.receive(encodeFileTransfer(c!))).toBe(FT_STATUS.malformed);
    expect(hub.receive(encodeFileTransfer({ ...b!, data: new Uint8Array(40) }))).toBe(FT_STATUS.ok); // new bytes: staged
    expect(hub.receive(encodeFileTransfer(b!))).toBe(FT_STATUS.malformed); // disagrees with what is staged
    expect(hub.fileState().received).toBe(80);
    expect(resumeOffset(file, 'table', hub.fileState())).toBe(0); // staged prefix is not this file's
  });

  it('a staged prefix digest equals prefixSha256 of the file', () => {
    const file = new TextEncoder().encode('GHAT and some records');
    expect(Buffer.from(prefixSha256(file, 4)).toString('hex')).toBe(createHash('sha256').update('GHAT').digest('hex'));
  });

  it('fragment size for a 1440-byte packet, plain and in the secure channel', () => {
    expect(maxFragmentSize(1440, false)).toBe(1421);
    expect(maxFragmentSize(1440, true)).toBe(1399);
    expect(() => maxFragmentSize(30, true)).toThrow(RangeError);
  });
});

describe('tableFileHead', () => {
  const h = (n: number) => new Uint8Array(32).fill(n);
  it('reads the hash to activate from a table and a diff', () => {
    const table = Uint8Array.from([...new TextEncoder().encode('GHAT'), ...h(1), 0x00]);
    expect(tableFileHead(table)).toEqual({ ok: true, value: { ft_type: 'table', hash: h(1) } });
    const diff = Uint8Array.from([...new TextEncoder().encode('GHAD'), ...h(2), ...h(3), 0x00, 0x00]);
    expect(tableFileHead(diff)).toEqual({ ok: true, value: { ft_type: 'diff', from_hash: h(2), to_hash: h(3) } });
  });

  it('refuses other files and short heads', () => {
    expect(tableFileHead(new TextEncoder().encode('PK\u0003\u0004…'))).toMatchObject({ ok: false, error: { code: 'bad_field', field: 'magic' } });
    expect(tableFileHead(new TextEncoder().encode('GHAD0123'))).toMatchObject({ ok: false, error: { code: 'truncated', field: 'from_hash' } });
    expect(tableFileHead(new Uint8Array(0))).toMatchObject({ ok: false, error: { code: 'truncated' } });
  });
});
