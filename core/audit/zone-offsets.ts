// UTC offsets for many events: a transition list per zone (covering the events seen so far) instead of
// an Intl lookup per event.
import { DAY_MS, findTransitions, liveOffsetFn, transitionOffsetFn, type OffsetFn } from '../time/zone.ts';

const SPAN_MS = 400 * DAY_MS;

export class ZoneOffsetCache {
  private readonly zones = new Map<string, { from: number; until: number; fn: OffsetFn }>();

  offset(zone: string, utcMs: number): number {
    let z = this.zones.get(zone);
    if (!z || utcMs < z.from || utcMs >= z.until) {
      const from = Math.floor(utcMs / DAY_MS) * DAY_MS - SPAN_MS;
      const until = from + 2 * SPAN_MS;
      z = { from, until, fn: transitionOffsetFn(findTransitions(liveOffsetFn(zone), from, until)) };
      this.zones.set(zone, z);
    }
    return z.fn(utcMs);
  }
}
