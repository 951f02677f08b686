// The wire tables against the vocabularies they mirror, and the vendor code against IEEE's rules.
// core/ may not be imported from drivers/, so the core's lists are read from its source text.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACCESS_BY, COMMAND_FIELDS, COMMANDS, EVENT_CATEGORIES, EVENT_DETAILS, INCIDENT_TYPES, REPLIES, REPLY_FIELDS, VENDOR_CODE } from './codes.ts';
import { wireTable } from './wire.ts';

const AUDIT = readFileSync(new URL('../../core/domain/audit.ts', import.meta.url), 'utf8');

function coreList(name: string): string[] {
  const m = new RegExp(`export const ${name} = \\[([\\s\\S]*?)\\] as const`).exec(AUDIT);
  if (!m) throw new Error(`core/domain/audit.ts no longer declares ${name}`);
  return [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!);
}

describe('audit vocabularies', () => {
  it('event categories, details and access methods are the core lists, in order, coded from 1', () => {
    expect(EVENT_CATEGORIES.names).toEqual(coreList('ENTRY_CATEGORIES'));
    expect(EVENT_DETAILS.names).toEqual(coreList('ENTRY_DETAILS'));
    expect(ACCESS_BY.names).toEqual(coreList('ACCESS_BY'));
    for (const t of [EVENT_CATEGORIES, EVENT_DETAILS, ACCESS_BY]) expect([...t.byCode.keys()]).toEqual(t.names.map((_, i) => i + 1));
  });

  it("incident types are the core's, less the two the host derives from the link", () => {
    expect(INCIDENT_TYPES.names).toEqual(coreList('INCIDENT_TYPES').filter((t) => t !== 'iq_offline' && t !== 'iq_online'));
  });
});

describe('message tables', () => {
  it('every command has a reply of the same code, and field names are unique per message', () => {
    for (const [code] of COMMANDS.byCode) expect(REPLIES.byCode.has(code)).toBe(true);
    for (const fields of [...Object.values(COMMAND_FIELDS), ...Object.values(REPLY_FIELDS)]) expect(new Set(fields).size).toBe(fields.length);
  });

  it('a wire table refuses a duplicate code or name', () => {
    expect(() => wireTable([[1, 'a'], [1, 'b']])).toThrow(/duplicate/);
    expect(() => wireTable([[1, 'a'], [2, 'a']])).toThrow(/duplicate/);
  });
});

describe('vendor code', () => {
  it('is locally administered and individual, so it can be no registered OUI or CID', () => {
    expect(VENDOR_CODE).toHaveLength(3);
    expect(VENDOR_CODE[0] & 0x02).toBe(0x02); // U/L bit: locally administered
    expect(VENDOR_CODE[0] & 0x01).toBe(0); // I/G bit: not a group address
    // CIDs sit in the ELI quadrant (low nibble 0xA of the first octet); this is not one.
    expect(VENDOR_CODE[0] & 0x0f).not.toBe(0x0a);
  });
});
