// The wall-time rules of docs/access-rules.md on hand-made transition lists, with expectations worked
// out by hand. The differential test (test/hub) checks the same code against the core on real zones;
// these cases include one no real zone has in the table window: a fall-back across midnight.
import { describe, expect, it } from 'vitest';
import { verdictAt, windowOn, ZoneClock, type Verdict } from './evaluator.ts';
import type { DayType, Rule } from './table.ts';

const T = (iso: string) => Date.parse(iso);
const wall = (local: string) => Date.parse(`${local}Z`);
const day = (date: string) => Date.parse(`${date}T00:00:00Z`) / 86_400_000;
const rule = (mask: number, start: string, end: string, bounds: { from?: string; until?: string } = {}): Rule => {
  const sec = (s: string) => s.split(':').map(Number).reduce((a, b) => a * 60 + b, 0);
  return { mask, startSec: sec(start), endSec: sec(end), fromWall: bounds.from ? wall(bounds.from) : null, untilWall: bounds.until ? wall(bounds.until) : null };
};
const EVERY_DAY = 0x7f;
const none = () => null;

/** Amsterdam 2027: CET, CEST from 28 March 01:00Z, CET from 31 October 01:00Z. */
const ams = new ZoneClock({ initialOffset: 60, transitions: [{ at: T('2027-03-28T01:00:00Z'), offset: 120 }, { at: T('2027-10-31T01:00:00Z'), offset: 60 }] });

describe('wall time to instants', () => {
  it('reads offsets from the transition list, a transition applying from its own instant', () => {
    expect(ams.offsetAt(T('2027-03-28T00:59:59.999Z'))).toBe(60);
    expect(ams.offsetAt(T('2027-03-28T01:00:00Z'))).toBe(120);
    expect(ams.localDay(T('2027-06-01T22:30:00Z'))).toBe(day('2027-06-02'));
  });

  it('clamps a wall time in a spring-forward gap to the end of the gap, or shifts it by the gap', () => {
    expect(ams.instantOf(wall('2027-03-28T02:30:00'), 'clamp')).toBe(T('2027-03-28T01:00:00Z'));
    expect(ams.instantOf(wall('2027-03-28T02:30:00'), 'shift')).toBe(T('2027-03-28T01:30:00Z'));
    expect(ams.instantOf(wall('2027-03-28T03:00:00'), 'clamp')).toBe(T('2027-03-28T01:00:00Z'));
  });

  it('takes the first occurrence of a wall time a fall-back repeats', () => {
    expect(ams.instantOf(wall('2027-10-31T02:30:00'), 'clamp')).toBe(T('2027-10-31T00:30:00Z'));
    expect(ams.instantOf(wall('2027-10-31T03:00:00'), 'clamp')).toBe(T('2027-10-31T02:00:00Z'));
  });
});

describe('schedule windows on DST days', () => {
  it('keeps a window straddling the gap, moves one wholly inside it, and closes one ending in it at the gap', () => {
    expect(windowOn(ams, rule(EVERY_DAY, '02:30:00', '03:29:59'), day('2027-03-28'))).toEqual([T('2027-03-28T01:00:00Z'), T('2027-03-28T01:30:00Z')]);
    expect(windowOn(ams, rule(EVERY_DAY, '02:15:00', '02:44:59'), day('2027-03-28'))).toEqual([T('2027-03-28T01:15:00Z'), T('2027-03-28T01:45:00Z')]);
    expect(windowOn(ams, rule(EVERY_DAY, '01:00:00', '02:29:59'), day('2027-03-28'))).toEqual([T('2027-03-28T00:00:00Z'), T('2027-03-28T01:00:00Z')]);
  });

  it('runs a window across the overlap once, as one stretch', () => {
    // 01:00–03:59:59 lasts four hours on the 25-hour day.
    expect(windowOn(ams, rule(EVERY_DAY, '01:00:00', '03:59:59'), day('2027-10-31'))).toEqual([T('2027-10-30T23:00:00Z'), T('2027-10-31T03:00:00Z')]);
  });

  it('resolves date bounds in a gap like window bounds', () => {
    const r = rule(EVERY_DAY, '00:00:00', '23:59:59', { from: '2027-03-28T02:30:00' });
    expect(verdictAt(ams, r, T('2027-03-28T00:59:59Z'), none)).toBe('closed');
    expect(verdictAt(ams, r, T('2027-03-28T01:00:00Z'), none)).toBe('open');
  });

  it('looks at the next date when a fall-back across midnight puts the wall date a day behind', () => {
    // A made-up zone: +01:00 until Monday 2027-01-04 23:30Z (Tuesday 00:30 local), then +00:00 — the wall
    // clock goes back from Tuesday 00:30 to Monday 23:30. Tuesday's 00:00–00:59:59 window first begins at
    // 23:00Z and ends when Tuesday 01:00 arrives, at 01:00Z.
    const odd = new ZoneClock({ initialOffset: 60, transitions: [{ at: T('2027-01-04T23:30:00Z'), offset: 0 }] });
    const tuesdayNight = rule(0b10, '00:00:00', '00:59:59');
    expect(windowOn(odd, tuesdayNight, day('2027-01-05'))).toEqual([T('2027-01-04T23:00:00Z'), T('2027-01-05T01:00:00Z')]);
    const at = T('2027-01-04T23:40:00Z');
    expect(odd.localDay(at)).toBe(day('2027-01-04')); // Monday 23:40 on the wall
    expect(verdictAt(odd, tuesdayNight, at, none)).toBe('open');
    expect(verdictAt(odd, tuesdayNight, T('2027-01-05T01:00:00Z'), none)).toBe('closed');
  });
});

describe('day types', () => {
  const xmas = day('2026-12-25'); // a Friday
  const cal = (type: DayType) => (d: number) => (d === xmas ? type : null);
  const at = T('2026-12-25T10:00:00Z');
  const cases: Array<[string, Rule, DayType, Verdict]> = [
    ['a weekday schedule on a holiday', rule(0x1f, '08:00:00', '17:59:59'), 'holiday', 'holiday'],
    ['a schedule that includes holidays', rule(0x1f | 0x80, '08:00:00', '17:59:59'), 'holiday', 'open'],
    ['special_1 replaces the weekday', rule(0x100, '08:00:00', '17:59:59'), 'special_1', 'open'],
    ['a special day the schedule does not select', rule(0x10 | 0x200, '08:00:00', '17:59:59'), 'special_1', 'holiday'],
    ['outside the window on a holiday', rule(0x1f, '12:00:00', '17:59:59'), 'holiday', 'closed'],
  ];
  it.each(cases)('%s', (_name, r, type, verdict) => {
    expect(verdictAt(ams, r, at, cal(type))).toBe(verdict);
  });
});
