// Hand-made bad inputs: each is refused with the code, field and message a reader would need.
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './codes.ts';
import type { IqCommand, IqReply } from './messages.ts';
import { decodeCommand, decodeReply, encodeCommand, encodeReply, errorFieldName, errorReplyFor } from './mfg.ts';
import { fromHex, type DecodeError, type DecodeResult } from './wire.ts';

const H = '02 47 48 01';

function refused<T>(r: DecodeResult<T>): DecodeError {
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.value)}`);
  return r.error;
}

const cmd = (hex: string) => refused(decodeCommand(fromHex(hex)));
const reply = (hex: string) => refused(decodeReply(fromHex(hex)));

describe('decodeCommand refuses, saying what is wrong', () => {
  it('an empty or short header', () => {
    expect(cmd('')).toMatchObject({ code: 'truncated', field: 'vendor' });
    expect(cmd('02 47 48 01')).toMatchObject({ code: 'truncated', field: 'code' });
  });

  it('a foreign vendor, another version, an unknown subcommand', () => {
    expect(cmd('00 0B 97 01 01 01')).toMatchObject({ code: 'bad_vendor', field: 'vendor' });
    expect(cmd('02 47 48 02 01 01')).toMatchObject({ code: 'unsupported_version', field: 'version' });
    expect(cmd(`${H} 55`)).toMatchObject({ code: 'unknown_command', field: 'code', message: 'MFG subcommand 0x55 is not defined' });
    expect(cmd(`${H} 7F`)).toMatchObject({ code: 'unknown_command' }); // ERROR is a reply, never a command
  });

  it('out-of-range and non-canonical numbers', () => {
    expect(cmd(`${H} 01 00`)).toMatchObject({ code: 'bad_field', field: 'first_lock_index', message: 'first_lock_index = 0 is outside 1..65535' });
    expect(cmd(`${H} 01 81 00`)).toMatchObject({ code: 'bad_field', field: 'first_lock_index', message: expect.stringContaining('overlong') });
    expect(cmd(`${H} 01 80 80 04`)).toMatchObject({ code: 'bad_field', field: 'first_lock_index' }); // 65536
    expect(cmd(`${H} 01 FF FF FF FF FF FF FF FF 01`)).toMatchObject({ code: 'bad_field', message: expect.stringContaining('longer than 8') });
    expect(cmd(`${H} 01 80`)).toMatchObject({ code: 'truncated', field: 'first_lock_index' });
    expect(cmd(`${H} 08 00 00 41`)).toMatchObject({ code: 'bad_field', field: 'max_events', message: 'max_events = 65 is outside 1..64' });
    expect(cmd(`${H} 0E 01 0E`)).toMatchObject({ code: 'bad_field', field: 'timeout_s' }); // 14 s: below CLP's 15
  });

  it('trailing bytes', () => {
    expect(cmd(`${H} 06 00`)).toMatchObject({ code: 'trailing_bytes', field: null, message: '1 byte(s) follow the end of the message at byte 5' });
  });

  it('strings: bad UTF-8, a zone that is no IANA name, a length beyond the limit or the bytes', () => {
    expect(cmd(`${H} 05 01 02 C3 28`)).toMatchObject({ code: 'bad_field', field: 'lock_id', message: 'lock_id is not valid UTF-8' });
    const zone = (s: string) => `${H} 02 00 ${Buffer.from([s.length]).toString('hex')} ${Buffer.from(s).toString('hex')} 00 02 00 00`;
    expect(decodeCommand(fromHex(zone('UTC'))).ok).toBe(true);
    expect(cmd(zone('../etc'))).toMatchObject({ code: 'bad_field', field: 'zone' });
    expect(cmd(`${H} 05 01 41 ${'61'.repeat(65)}`)).toMatchObject({ code: 'bad_field', field: 'lock_id', message: 'lock_id is 65 byte(s) long; allowed 1..64' });
    expect(cmd(`${H} 05 01 10 61 61`)).toMatchObject({ code: 'truncated', field: 'lock_id' });
  });

  it('set_time: an empty window, instants out of order, an offset beyond 18 h', () => {
    // utc 0, "UTC", from 2 (zig-zag 04) until 1 (02)
    expect(cmd(`${H} 02 00 03 55 54 43 04 02 00 00`)).toMatchObject({ code: 'bad_field', field: 'valid_until_ms' });
    expect(cmd(`${H} 02 00 03 55 54 43 00 02 00 02 04 00 02 00`)).toMatchObject({ code: 'bad_field', field: 'transitions[1].instant_s' });
    expect(cmd(`${H} 02 00 03 55 54 43 00 02 F2 10 00`)).toMatchObject({ code: 'bad_field', field: 'initial_offset_min' }); // 1081
    expect(cmd(`${H} 02 00 03 55 54 43 00 02 00 41`)).toMatchObject({ code: 'bad_field', field: 'transitions', message: 'transitions count 65 exceeds 64' });
    expect(cmd(`${H} 02 00 03 55 54 43 00 02 00 20 00 00`)).toMatchObject({ code: 'truncated', field: 'transitions' });
  });

  it('set_site_key: generation 0, a site id that is no lower-case UUID, a key cut short', () => {
    const id = (s: string) => `${Buffer.from([s.length]).toString('hex')} ${Buffer.from(s).toString('hex')}`;
    const uuid = 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607';
    const key = '00 '.repeat(16);
    expect(decodeCommand(fromHex(`${H} 12 01 ${id(uuid)} ${key}`)).ok).toBe(true);
    expect(cmd(`${H} 12 00 ${id(uuid)} ${key}`)).toMatchObject({ code: 'bad_field', field: 'generation' });
    expect(cmd(`${H} 12 01 ${id(uuid.toUpperCase())} ${key}`)).toMatchObject({ code: 'bad_field', field: 'site_id' });
    expect(cmd(`${H} 12 01 ${id('site-1')} ${key}`)).toMatchObject({ code: 'bad_field', field: 'site_id', message: 'site_id is 6 byte(s) long; allowed 36..36' });
    expect(cmd(`${H} 12 01 ${id(uuid)} ${'00 '.repeat(15)}`)).toMatchObject({ code: 'truncated', field: 'key' });
  });

  it('fixed-size fields cut short', () => {
    expect(cmd(`${H} 0A 01 01 61 00 01 02`)).toMatchObject({ code: 'truncated', field: 'confirmation' });
    expect(cmd(`${H} 07 82 01`)).toMatchObject({ code: 'bad_field', field: 'ft_type', message: 'ft_type code 130 is not defined' });
  });
});

describe('decodeReply refuses, saying what is wrong', () => {
  const status = (ring: string, locks: string) =>
    `${H} 01 01 31 01 53 ${'00 '.repeat(6)} 00 00 00 00 00 ${'00'.repeat(32)} ${ring} ${locks}`;

  it('a ring whose ids contradict each other', () => {
    expect(decodeReply(fromHex(status('07 01 00 00', '00 00 00'))).ok).toBe(true);
    expect(reply(status('07 00 00 00', '00 00 00'))).toMatchObject({ code: 'bad_field', field: 'oldest_id' });
    expect(reply(status('07 03 01 00', '00 00 00'))).toMatchObject({ code: 'bad_field', field: 'oldest_id' });
    expect(reply(status('07 01 01 02', '00 00 00'))).toMatchObject({ code: 'bad_field', field: 'acked_id' });
  });

  it('a page of locks out of order, reserved flag bits, an inflated count', () => {
    const lock = (i: number, flags = '01') => `0${i} ${flags} 01 01 00`;
    expect(decodeReply(fromHex(status('07 01 00 00', `02 00 02 ${lock(1)} ${lock(2)}`))).ok).toBe(true);
    expect(reply(status('07 01 00 00', `02 00 02 ${lock(2)} ${lock(1)}`))).toMatchObject({ code: 'bad_field', field: 'locks[1].lock_index' });
    expect(reply(status('07 01 00 00', `02 00 01 ${lock(1, '40')}`))).toMatchObject({ code: 'bad_field', field: 'locks[0].flags' });
    expect(reply(status('07 01 00 00', `02 00 50 ${lock(1)}`))).toMatchObject({ code: 'truncated', field: 'locks' });
    expect(reply(status('07 01 00 00', `FF 01 00 81 01 ${lock(1)}`))).toMatchObject({ code: 'bad_field', field: 'locks', message: 'locks count 129 exceeds 128' });
    expect(reply(status('07 01 00 00', `02 01 01 ${lock(1)}`))).toMatchObject({ code: 'bad_field', field: 'next_lock_index' });
  });

  it('no table but a hash', () => {
    expect(reply(`${H} 07 02 00 ${'00'.repeat(31)}01`)).toMatchObject({ code: 'bad_field', field: 'table_hash' });
    expect(reply(`${H} 07 00 00 ${'00'.repeat(32)}`)).toMatchObject({ code: 'bad_field', field: 'table_version' }); // activated, yet no table
  });

  it('events: ids outside the ring, an unknown code, a UID of the wrong size, a first_id without events', () => {
    const ev = (first: string, body: string) => `${H} 08 07 01 05 00 ${first} 01 ${body}`;
    const incident = (code: string) => `02 01 00 01 ${code}`;
    expect(decodeReply(fromHex(ev('05', incident('03')))).ok).toBe(true);
    expect(reply(ev('06', incident('03')))).toMatchObject({ code: 'bad_field', field: 'events[0].id' });
    expect(reply(ev('05', incident('07')))).toMatchObject({ code: 'bad_field', field: 'events[0].incident_type' });
    expect(reply(ev('05', '03 01 00 01 05 01 02 03 04 05 00'))).toMatchObject({ code: 'bad_field', field: 'events[0].card_uid' });
    expect(reply(ev('05', '01 02 00 01 01 00 00 00 00 00'))).toMatchObject({ code: 'bad_field', field: 'events[0].flags' });
    expect(reply(ev('05', '01 01 00 01 01 11 00 00 00 00'))).toMatchObject({ code: 'bad_field', field: 'events[0].event_detail' });
    expect(reply(`${H} 08 07 01 05 00 03 00`)).toMatchObject({ code: 'bad_field', field: 'first_id' });
  });

  it('site keys: no key but a fingerprint; a SITE_KEY_SET that names no key', () => {
    expect(decodeReply(fromHex(`${H} 11 00 ${'00'.repeat(8)}`))).toMatchObject({ ok: true, value: { type: 'site_key_state', site_key: null } });
    expect(reply(`${H} 11 00 ${'00'.repeat(7)}01`)).toMatchObject({ code: 'bad_field', field: 'fingerprint' });
    expect(reply(`${H} 12 00 ${'00'.repeat(8)}`)).toMatchObject({ code: 'bad_field', field: 'generation' });
    expect(reply(`${H} 11 80 80 80 80 10 ${'00'.repeat(8)}`)).toMatchObject({ code: 'bad_field', field: 'generation' }); // 2^32
  });

  it('ERROR: a field where none belongs, a value without meaning, an empty version range; any version is readable', () => {
    expect(reply(`${H} 7F 01 05 01 01 01 00 00`)).toMatchObject({ code: 'bad_field', field: 'field' });
    expect(reply(`${H} 7F 01 06 00 01 01 07 00`)).toMatchObject({ code: 'bad_field', field: 'value' });
    expect(reply(`${H} 7F 01 05 00 02 01 00 00`)).toMatchObject({ code: 'bad_field', field: 'min_version' });
    expect(reply(`${H} 7F 06 03 01 01 01 00 00`)).toMatchObject({ code: 'bad_field', field: 'field' }); // FILE_STATUS has no fields
    expect(reply(`02 47 48 00 7F 01 01 00 01 01 00 00`)).toMatchObject({ code: 'bad_field', field: 'version' });
    expect(reply(`02 47 48 09 01`)).toMatchObject({ code: 'unsupported_version' });
    expect(decodeReply(fromHex(`02 47 48 09 7F 01 04 00 09 09 00 00`))).toMatchObject({ ok: true, value: { version: 9, error: 'unsupported_version' } });
  });
});

describe('encoders refuse values the protocol cannot carry', () => {
  const badCommands: [string, IqCommand][] = [
    ['a lock index of 0', { type: 'get_status', first_lock_index: 0 }],
    ['a confirmation of 15 bytes', { type: 'remote_open', lock_index: 1, operator_ref: 'a', confirmation: new Uint8Array(15) }],
    ['an empty operator', { type: 'remote_open', lock_index: 1, operator_ref: '', confirmation: new Uint8Array(16) }],
    ['a lone surrogate', { type: 'unpair_lock', lock_index: 1, lock_id: '\ud800' }],
    ['transitions out of order', { type: 'set_time', utc_ms: 0, zone: 'UTC', valid_from_ms: 0, valid_until_ms: 1, initial_offset_min: 0, transitions: [{ instant_s: 5, offset_min: 0 }, { instant_s: 5, offset_min: 60 }] }],
    ['a zone that is no IANA name', { type: 'set_time', utc_ms: 0, zone: 'Europe/../x', valid_from_ms: 0, valid_until_ms: 1, initial_offset_min: 0, transitions: [] }],
    ['a tag registration of 10 s', { type: 'tag_registration', lock_index: 1, timeout_s: 10 }],
    ['a site key of 15 bytes', { type: 'set_site_key', generation: 1, site_id: 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607', key: new Uint8Array(15) }],
    ['a site id that is no UUID', { type: 'set_site_key', generation: 1, site_id: 'site-1', key: new Uint8Array(16) }],
  ];
  const incident = (id: number) => ({ id, kind: 'incident' as const, incident_type: 'tamper' as const, time_ms: 0, clock_valid: true, lock_index: 1 });
  const badReplies: [string, IqReply][] = [
    ['an 11-digit tag', { type: 'events', epoch: 1, oldest_id: 1, newest_id: 1, acked_id: 0, events: [{ id: 1, kind: 'tag_presented', time_ms: 0, clock_valid: true, lock_index: 1, card_uid: new Uint8Array(4), tag_number: '12345678901' }] }],
    ['non-consecutive events', { type: 'events', epoch: 1, oldest_id: 1, newest_id: 9, acked_id: 0, events: [incident(1), incident(3)] }],
    ['an event outside the ring', { type: 'events', epoch: 1, oldest_id: 2, newest_id: 9, acked_id: 0, events: [incident(1)] }],
    ['an empty actor string', { type: 'events', epoch: 1, oldest_id: 1, newest_id: 1, acked_id: 0, events: [{ id: 1, kind: 'entry', time_ms: 0, clock_valid: true, lock_index: 1, event_category: 'lock_opened', event_detail: null, access_by: null, tag_number: null, card_uid: null, actor: '' }] }],
    ['activated without a table', { type: 'activation', outcome: 'activated', table: null }],
    ['bad_field without a field', { type: 'error', version: 1, command: 2, error: 'bad_field', field: 0, min_version: 1, max_version: 1, value: 0, message: '' }],
  ];
  for (const [what, v] of badCommands) it(`command: ${what}`, () => expect(() => encodeCommand(v)).toThrow(RangeError));
  for (const [what, v] of badReplies) it(`reply: ${what}`, () => expect(() => encodeReply(v)).toThrow(RangeError));
});

describe('errorReplyFor: what a hub answers to a command it cannot decode', () => {
  const answer = (hex: string) => {
    const bytes = fromHex(hex);
    const r = decodeCommand(bytes);
    if (r.ok) throw new Error('accepted');
    return errorReplyFor(bytes, r.error);
  };

  it('maps each decode failure to its ERROR code, naming the field by position', () => {
    expect(answer(`${H} 55`)).toMatchObject({ command: 0x55, error: 'unknown_command', field: 0 });
    expect(answer('02 47 48 07 01 01')).toMatchObject({ error: 'unsupported_version', min_version: 1, max_version: 1 });
    expect(answer(`${H} 0A 01`)).toMatchObject({ command: 0x0a, error: 'bad_length' });
    expect(answer(`${H} 06 00`)).toMatchObject({ error: 'bad_length' });
    const zone = answer(`${H} 02 00 03 2E 2E 2F 00 02 00 00`)!;
    expect(zone).toMatchObject({ command: COMMANDS.byName.get('set_time'), error: 'bad_field', field: 2 });
    expect(errorFieldName(zone)).toBe('zone');
    expect(answer(`${H} 02 00 03 55 54 43 00 02 00 02 04 00 02 00`)).toMatchObject({ error: 'bad_field', field: 6 }); // transitions[1]
  });

  it('leaves a foreign vendor code to an osdp_NAK', () => {
    expect(answer('00 0B 97 01 01 01')).toBeNull();
  });
});
