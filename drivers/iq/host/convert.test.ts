// The pure pieces: event ids, signal bars, addresses, event times, and PDCAP's receive size.
import { describe, expect, it } from 'vitest';
import type { HubEvent } from '../messages.ts';
import { eventId, eventTime, formatAddress, parseAddress, signalBars } from './convert.ts';
import { receiveSize } from './pdcap.ts';

describe('event ids', () => {
  it('are the epoch as 8 hex digits, a colon and the id', () => {
    expect(eventId(0xdeadbeef, 1001)).toBe('deadbeef:1001');
    expect(eventId(0x2a, 1)).toBe('0000002a:1');
    expect(eventId(0xffffffff, 2 ** 53 - 1)).toBe('ffffffff:9007199254740991');
  });
});

describe('signal bars', () => {
  it('maps dBm to 0–5 bars in 10 dB steps from −60 dBm', () => {
    const table: Array<[number, number]> = [
      [0, 5],
      [-60, 5],
      [-61, 4],
      [-70, 4],
      [-71, 3],
      [-80, 3],
      [-90, 2],
      [-100, 1],
      [-101, 0],
      [-150, 0],
    ];
    for (const [dbm, bars] of table) expect([dbm, signalBars(dbm)]).toEqual([dbm, bars]);
    expect(signalBars(null)).toBeNull();
  });
});

describe('addresses', () => {
  it('formats as printed on the device and reads the usual spellings back', () => {
    expect(formatAddress(Uint8Array.of(0x00, 0x14, 0x22, 0x01, 0x23, 0x45))).toBe('00-14-22-01-23-45');
    for (const s of ['00-14-22-01-23-45', '00:14:22:01:23:45', '001422012345', ' 00-14-22-01-23-45 ']) {
      expect(parseAddress(s)).toEqual(Uint8Array.of(0x00, 0x14, 0x22, 0x01, 0x23, 0x45));
    }
    for (const s of ['', '0', '00-14-2', 'zz-14-22-01-23-45']) expect(parseAddress(s)).toBeNull();
  });
});

describe('event times', () => {
  const event = (time_ms: number, clock_valid: boolean): HubEvent => ({ id: 1, time_ms, clock_valid, lock_index: 1, kind: 'incident', incident_type: 'tamper' });
  const received = Date.parse('2026-03-02T09:00:00Z');

  it('are the hub clock as ISO-8601 UTC, or the receive time when the hub clock was unset', () => {
    expect(eventTime(event(Date.parse('2026-01-01T00:00:00Z'), true), received)).toBe('2026-01-01T00:00:00.000Z');
    expect(eventTime(event(5000, false), received)).toBe('2026-03-02T09:00:00.000Z');
  });

  it('never hand the core a time it cannot read (a year past 9999)', () => {
    expect(eventTime(event(2 ** 53 - 1, true), received)).toBe('2026-03-02T09:00:00.000Z');
    expect(eventTime(event(Date.UTC(10000, 0, 1), true), received)).toBe('2026-03-02T09:00:00.000Z');
  });
});

describe('PDCAP receive size', () => {
  it('is function code 10, LSB then MSB, capped at the OSDP maximum', () => {
    expect(receiveSize(Uint8Array.of(8, 1, 0, 10, 0x00, 0x02, 9, 1, 1))).toBe(512);
    expect(receiveSize(Uint8Array.of(10, 0xff, 0xff))).toBe(1440);
  });

  it('is unknown when PDCAP does not say or is not a PDCAP list', () => {
    expect(receiveSize(Uint8Array.of(8, 1, 0))).toBeNull();
    expect(receiveSize(Uint8Array.of(10, 0, 0))).toBeNull();
    expect(receiveSize(Uint8Array.of(10, 0, 2, 1))).toBeNull();
  });
});
