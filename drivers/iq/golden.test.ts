// The worked examples of docs/iq-protocol.md, written by hand from the doc's tables, decoded and
// re-encoded by the code; and the doc's field and code tables compared with codes.ts. If the doc
// and the code disagree on a byte, one of these fails.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACCESS_BY,
  ACTIVATION_OUTCOMES,
  BATTERY_LEVELS,
  COMMAND_FIELDS,
  COMMANDS,
  ERROR_CODES,
  EVENT_CATEGORIES,
  EVENT_DETAILS,
  INCIDENT_TYPES,
  LOCK_STATES,
  OFFICE_MODES,
  REPLIES,
  REPLY_FIELDS,
  type CommandType,
  type ReplyType,
} from './codes.ts';
import { decodeFileTransfer, decodeFtStat, encodeFileTransfer, encodeFtStat } from './file-transfer.ts';
import type { IqCommand, IqReply } from './messages.ts';
import { decodeCommand, decodeReply, encodeCommand, encodeReply } from './mfg.ts';
import { fromHex, hex, type DecodeResult } from './wire.ts';

const DOC = readFileSync(new URL('../../docs/iq-protocol.md', import.meta.url), 'utf8');
const seq = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => from + i);
const EPOCH = 0xdeadbeef;

/** Hex of every fenced code block of the doc, without whitespace, so an example may wrap. */
const docBlocks = [...DOC.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\s+/g, '').toLowerCase());

type Golden =
  | { name: string; hex: string; kind: 'command'; value: IqCommand }
  | { name: string; hex: string; kind: 'reply'; value: IqReply }
  | { name: string; hex: string; kind: 'filetransfer'; value: Parameters<typeof encodeFileTransfer>[0] }
  | { name: string; hex: string; kind: 'ftstat'; value: Parameters<typeof encodeFtStat>[0] };

const GOLDEN: Golden[] = [
  { name: 'GET_STATUS first page', kind: 'command', hex: '02 47 48 01 01 01', value: { type: 'get_status', first_lock_index: 1 } },
  {
    name: 'ACK_EVENTS through 1000',
    kind: 'command',
    hex: '02 47 48 01 09 EF FD B6 F5 0D E8 07',
    value: { type: 'ack_events', epoch: EPOCH, through_id: 1000 },
  },
  {
    name: 'REMOTE_OPEN lock 3 by anna',
    kind: 'command',
    hex: '02 47 48 01 0A 03 04 61 6E 6E 61 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F',
    value: { type: 'remote_open', lock_index: 3, operator_ref: 'anna', confirmation: seq(0, 16) },
  },
  {
    name: 'EVENTS with one tag opening',
    kind: 'reply',
    hex: '02 47 48 01 08 EF FD B6 F5 0D 01 E9 07 E8 07 E9 07 01 01 01 80 D0 EA B6 B7 33 03 01 00 01 01 E7 3A 04 DE AD BE EF 00',
    value: {
      type: 'events',
      epoch: EPOCH,
      oldest_id: 1,
      newest_id: 1001,
      acked_id: 1000,
      events: [
        {
          id: 1001,
          kind: 'entry',
          time_ms: Date.UTC(2026, 0, 1),
          clock_valid: true,
          lock_index: 3,
          event_category: 'lock_opened',
          event_detail: null,
          access_by: 'tag',
          tag_number: '0000007527',
          card_uid: Uint8Array.of(0xde, 0xad, 0xbe, 0xef),
          actor: null,
        },
      ],
    },
  },
  {
    name: 'ERROR bad_field SET_TIME zone',
    kind: 'reply',
    hex: '02 47 48 01 7F 02 03 02 01 01 00 04 7A 6F 6E 65',
    value: { type: 'error', version: 1, command: 0x02, error: 'bad_field', field: 2, min_version: 1, max_version: 1, value: 0, message: 'zone' },
  },
  {
    name: 'ERROR unsupported_version from a version 2-3 hub',
    kind: 'reply',
    hex: '02 47 48 03 7F 0A 04 00 02 03 00 00',
    value: { type: 'error', version: 3, command: 0x0a, error: 'unsupported_version', field: 0, min_version: 2, max_version: 3, value: 0, message: '' },
  },
  {
    name: 'ACTIVATE_TABLE v42',
    kind: 'command',
    hex: `02 47 48 01 07 80 2A ${'AB '.repeat(32)}`,
    value: { type: 'activate_table', ft_type: 'table', version: 42, hash: new Uint8Array(32).fill(0xab) },
  },
  {
    name: 'SET_SITE_KEY generation 1',
    kind: 'command',
    hex: `02 47 48 01 12 01 24 ${Buffer.from('a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607').toString('hex')} 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F`,
    value: { type: 'set_site_key', generation: 1, site_id: 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607', key: seq(0, 16) },
  },
  {
    name: 'SITE_KEY_STATE holding that key',
    kind: 'reply',
    hex: '02 47 48 01 11 01 46 BC 7E D5 A4 6F 8C 88',
    value: { type: 'site_key_state', site_key: { generation: 1, fingerprint: fromHex('46bc7ed5a46f8c88') } },
  },
  { name: 'EVENTS_PENDING', kind: 'reply', hex: '02 47 48 01 40 EF FD B6 F5 0D E9 07', value: { type: 'events_pending', epoch: EPOCH, newest_id: 1001 } },
  {
    name: 'FILETRANSFER first fragment',
    kind: 'filetransfer',
    hex: '80 88 13 00 00 00 00 00 00 04 00 47 48 41 54',
    value: { ft_type: 0x80, total_size: 5000, offset: 0, data: new TextEncoder().encode('GHAT') },
  },
  {
    name: 'FTSTAT fragment refused',
    kind: 'ftstat',
    hex: '01 00 00 FD FF 00 00',
    value: { interleave: true, leave_secure_channel: false, poll_response_available: false, delay_ms: 0, status: -3, update_msg_max: 0 },
  },
];

function codec(g: Golden): { decode: (b: Uint8Array) => DecodeResult<unknown>; encode: (v: never) => Uint8Array } {
  switch (g.kind) {
    case 'command':
      return { decode: decodeCommand, encode: encodeCommand };
    case 'reply':
      return { decode: decodeReply, encode: encodeReply };
    case 'filetransfer':
      return { decode: decodeFileTransfer, encode: encodeFileTransfer };
    case 'ftstat':
      return { decode: decodeFtStat, encode: encodeFtStat };
  }
}

describe('worked examples', () => {
  for (const g of GOLDEN) {
    it(`${g.name}: the bytes decode to the value, the value encodes to the bytes, and the doc shows them`, () => {
      const bytes = fromHex(g.hex);
      const { decode, encode } = codec(g);
      const r = decode(bytes);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value).toEqual(g.value);
      expect(hex(encode(g.value as never))).toBe(hex(bytes));
      expect(docBlocks.some((b) => b === hex(bytes)), `docs/iq-protocol.md has no code block with ${g.hex}`).toBe(true);
    });
  }
});

/** Rows `| n | \`name\` |` of every "| # | Field |" table in a section. */
function fieldTables(section: string): string[][] {
  const tables: string[][] = [];
  const lines = section.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('| # | Field |')) continue;
    const names: string[] = [];
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith('|'); j++) {
      const m = /^\| (\d+) \| `(\w+)` \|/.exec(lines[j]!);
      if (!m) throw new Error(`malformed field row: ${lines[j]}`);
      expect(Number(m[1]), `numbering in ${lines[j]}`).toBe(names.length + 1);
      names.push(m[2]!);
    }
    tables.push(names);
  }
  return tables;
}

function section(code: number, name: string): string {
  const heading = `### 0x${code.toString(16).toUpperCase().padStart(2, '0')} ${name}`;
  const at = DOC.indexOf(`${heading}\n`) >= 0 ? DOC.indexOf(`${heading}\n`) : DOC.indexOf(`${heading} `);
  if (at < 0) throw new Error(`docs/iq-protocol.md has no section "${heading}"`);
  const end = DOC.indexOf('\n##', at + heading.length);
  return DOC.slice(at, end < 0 ? undefined : end);
}

describe('the doc describes every message field by field', () => {
  for (const [code, type] of COMMANDS.byCode) {
    it(`${type}: command and reply tables list the codec's fields in order`, () => {
      const reply = REPLIES.byCode.get(code)!;
      const tables = fieldTables(section(code, type.toUpperCase()));
      const expected = [COMMAND_FIELDS[type as CommandType], REPLY_FIELDS[reply as ReplyType]].filter((f) => f.length > 0);
      expect(tables).toEqual(expected);
      expect(DOC).toContain(`| 0x${code.toString(16).toUpperCase().padStart(2, '0')} | \`${type.toUpperCase()}\` | \`${reply.toUpperCase()}\` |`);
    });
  }
  for (const type of ['events_pending', 'error'] as const) {
    it(`${type}: reply-only table lists the codec's fields in order`, () => {
      expect(fieldTables(section(REPLIES.byName.get(type)!, type.toUpperCase()))).toEqual([REPLY_FIELDS[type]]);
    });
  }
});

describe('the doc has the same code tables', () => {
  const cases: [string, { byCode: ReadonlyMap<number, string> }, (code: number, name: string) => string][] = [
    ['event categories', EVENT_CATEGORIES, (c, n) => `| ${c} | \`${n}\` |`],
    ['event details', EVENT_DETAILS, (c, n) => `| ${c} | \`${n}\` |`],
    ['access by', ACCESS_BY, (c, n) => `| ${c} | \`${n}\` |`],
    ['incident types', INCIDENT_TYPES, (c, n) => `| ${c} | \`${n}\` |`],
    ['activation outcomes', ACTIVATION_OUTCOMES, (c, n) => `| ${c} | \`${n}\` |`],
    ['error codes', ERROR_CODES, (c, n) => `| 0x${c.toString(16).toUpperCase().padStart(2, '0')} | \`${n}\` |`],
    ['battery levels', BATTERY_LEVELS, (c, n) => `${c} \`${n}\``],
    ['lock states', LOCK_STATES, (c, n) => `${c} \`${n}\``],
    ['office modes', OFFICE_MODES, (c, n) => `${c} \`${n}\``],
  ];
  for (const [name, table, cell] of cases) {
    it(name, () => {
      for (const [code, n] of table.byCode) expect(DOC, `${name}: ${code} ${n}`).toContain(cell(code, n));
    });
  }
});
