// The schedule grid (renderer/src/components/schedule.ts) turns drawn cells into CLP time schedules.
// Whatever an admin draws, the core must then open the door in exactly the drawn half-hours: checked
// here against the core's own schedule evaluator, not against the grid's idea of it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateSchedule, NO_HOLIDAYS, toScheduleRule } from '../../core/access/schedule.ts';
import { WEEKDAYS } from '../../core/domain/enums.ts';
import { DAY_MS } from '../../core/time/zone.ts';
import { applyWindow, cellKey, cellsOf, DAY_KEYS, emptySchedule, SLOT_SECONDS, SLOTS, windowsOf } from '../../renderer/src/components/schedule.ts';

const UTC = () => 0;
// 2026-03-02 is a Monday: day numbers count from the Unix epoch, so the week is 20514..20520.
const MONDAY = Date.UTC(2026, 2, 2) / DAY_MS;

const weekdayCell = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: SLOTS - 1 })).map(([d, s]) => cellKey(WEEKDAYS[d]!, s));
const anyCell = fc.tuple(fc.integer({ min: 0, max: DAY_KEYS.length - 1 }), fc.integer({ min: 0, max: SLOTS - 1 })).map(([d, s]) => cellKey(DAY_KEYS[d]!, s));
// Drawings are runs more often than scattered cells: a few rectangles plus some noise.
const rectangle = fc
  .tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: SLOTS - 1 }), fc.integer({ min: 1, max: SLOTS * 2 }))
  .map(([d0, days, start, length]) => {
    const out: string[] = [];
    for (let d = d0; d <= Math.min(6, d0 + days); d++) for (let k = 0; k < length; k++) out.push(cellKey(WEEKDAYS[(d + Math.floor((start + k) / SLOTS)) % 7]!, (start + k) % SLOTS));
    return out;
  });
const drawing = fc.tuple(fc.array(rectangle, { maxLength: 3 }), fc.array(weekdayCell, { maxLength: 12 })).map(([rs, noise]) => new Set([...rs.flat(), ...noise]));

describe('schedule grid → CLP time schedules', () => {
  it('the core opens the door in exactly the half-hours drawn, across midnight and around the week', () => {
    fc.assert(
      fc.property(drawing, (cells) => {
        const rules = windowsOf(cells).map((w) => toScheduleRule(applyWindow(emptySchedule(), w)));
        for (let d = 0; d < 7; d++) {
          for (let slot = 0; slot < SLOTS; slot++) {
            const t = (MONDAY + d) * DAY_MS + (slot * SLOT_SECONDS + SLOT_SECONDS / 2) * 1000;
            const open = rules.some((r) => evaluateSchedule(r, t, UTC, NO_HOLIDAYS) === 'open');
            expect(open, `${WEEKDAYS[d]} slot ${slot}`).toBe(cells.has(cellKey(WEEKDAYS[d]!, slot)));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reading the windows back gives the same cells, day-type columns included', () => {
    fc.assert(
      fc.property(fc.array(anyCell, { maxLength: 80 }), (list) => {
        const cells = new Set(list);
        const back = windowsOf(cells).flatMap(cellsOf);
        expect(new Set(back)).toEqual(cells);
        expect(back).toHaveLength(cells.size);
      }),
      { numRuns: 300 },
    );
  });

  it('Mon–Fri 08:00–17:00 is one schedule ending at 16:59:59 (end_time is inclusive in CLP)', () => {
    const cells = WEEKDAYS.slice(0, 5).flatMap((d) => Array.from({ length: 18 }, (_, k) => cellKey(d, 16 + k)));
    const windows = windowsOf(cells);
    expect(windows).toHaveLength(1);
    expect(applyWindow(emptySchedule(), windows[0]!)).toMatchObject({ monday: true, friday: true, saturday: false, start_time: '08:00:00', end_time: '16:59:59' });
  });
});
