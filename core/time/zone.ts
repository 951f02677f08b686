// Time zones as offset functions. Everything in access rules works on an `OffsetFn`: the live one
// asks the IANA database (through Luxon/Intl), the compiled one reads a transition list shipped in an
// access table. Both feed the same resolution rules below, so a hub deciding from its table gets the
// same answers as the core as long as the transition list reproduces the offsets.
import { IANAZone } from 'luxon';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** UTC offset in minutes at an instant (epoch milliseconds). */
export type OffsetFn = (utcMs: number) => number;

export function isValidZone(name: string): boolean {
  return IANAZone.isValidZone(name);
}

const liveZones = new Map<string, OffsetFn>();

/** Offset function backed by the IANA database. Throws on an unknown zone name. */
export function liveOffsetFn(zoneName: string): OffsetFn {
  let fn = liveZones.get(zoneName);
  if (!fn) {
    if (!isValidZone(zoneName)) throw new RangeError(`Unknown time zone '${zoneName}'`);
    const zone = IANAZone.create(zoneName);
    fn = (utcMs) => zone.offset(utcMs);
    liveZones.set(zoneName, fn);
  }
  return fn;
}

/**
 * How a wall time that a spring-forward gap skips becomes an instant:
 * - 'shift': move it forward by the length of the gap (Temporal's "compatible"): 02:30 → 03:30.
 * - 'clamp': take the instant the gap ends (the first wall time that exists): 02:30 → 03:00.
 * A wall time repeated by a fall-back overlap always takes the earlier instant.
 */
export type GapMode = 'shift' | 'clamp';

/**
 * Turns local wall time (epoch ms of the wall clock read as if it were UTC) into an instant. This is
 * what keeps a schedule window from being lost on a 23-hour day or doubled on a 25-hour day.
 */
export function resolveWallTime(offsetAt: OffsetFn, wallMs: number, gap: GapMode = 'shift'): number {
  const before = offsetAt(wallMs - DAY_MS);
  const after = offsetAt(wallMs + DAY_MS);
  const early = wallMs - before * MINUTE_MS;
  if (before === after) return early;
  const late = wallMs - after * MINUTE_MS;
  const earlyValid = offsetAt(early) === before;
  const lateValid = offsetAt(late) === after;
  if (earlyValid && lateValid) return Math.min(early, late);
  if (earlyValid) return early;
  if (lateValid) return late;
  // In the gap: `early` reads the wall time with the offset before the transition, which lands as far
  // after the transition as the wall time is after the gap's start.
  if (gap === 'shift') return early;
  return transitionBetween(offsetAt, late, early);
}

/** The instant the offset changes, between lo (old offset) and hi (new offset), to the second. */
function transitionBetween(offsetAt: OffsetFn, lo: number, hi: number): number {
  const old = offsetAt(lo);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetAt(mid) === old) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Local wall time of an instant, as epoch ms of the wall clock. */
export function wallTimeOf(offsetAt: OffsetFn, utcMs: number): number {
  return utcMs + offsetAt(utcMs) * MINUTE_MS;
}

/** One change of offset: from `at` (epoch ms, inclusive) the zone is `offset` minutes from UTC. */
export interface Transition {
  at: number;
  offset: number;
}

export interface TransitionList {
  /** Offset before the first transition. */
  initial: number;
  transitions: Transition[];
}

/**
 * Every offset change of a zone between two instants, found by sampling every six hours and
 * bisecting to the second. No zone changes offset twice within six hours.
 */
export function findTransitions(offsetAt: OffsetFn, fromMs: number, toMs: number): TransitionList {
  const step = 6 * HOUR_MS;
  const initial = offsetAt(fromMs);
  const transitions: Transition[] = [];
  let prevT = fromMs;
  let prevO = initial;
  for (let t = fromMs + step; ; t += step) {
    const at = Math.min(t, toMs);
    const o = offsetAt(at);
    if (o !== prevO) {
      let lo = prevT;
      let hi = at;
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (offsetAt(mid) === prevO) lo = mid;
        else hi = mid;
      }
      transitions.push({ at: hi, offset: o });
      prevO = o;
    }
    prevT = at;
    if (at >= toMs) break;
  }
  return { initial, transitions };
}

/** Offset function over a transition list (what a hub has). */
export function transitionOffsetFn(list: TransitionList): OffsetFn {
  const ats = list.transitions.map((t) => t.at);
  const offsets = list.transitions.map((t) => t.offset);
  const initial = list.initial;
  return (utcMs) => {
    let lo = 0;
    let hi = ats.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ats[mid]! <= utcMs) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? initial : offsets[lo - 1]!;
  };
}
