// The access diff looks far enough ahead to show the change an admin is about to save.
import { describe, expect, it } from 'vitest';
import { previewHorizonDays } from '../../renderer/src/components/preview-horizon.ts';

describe('how far the access diff looks ahead', () => {
  it('is a week for a change without dates', () => {
    expect(previewHorizonDays({ id: 'g1', user_ids: ['u1'] }, '2026-11-26')).toBe(7);
  });

  it('reaches a holiday three months out, through the day after it', () => {
    expect(previewHorizonDays({ id: 'cal', dates: [{ date: '2027-02-26', day_type: 'holiday' }] }, '2026-11-26')).toBe(94);
  });

  it('covers the furthest date anywhere in the input, date-times included', () => {
    const input = { time_schedules: [{ start_date: '2026-12-01', end_date: '2027-03-31T18:00:00' }], valid_until: '2027-01-01T00:00:00Z' };
    expect(previewHorizonDays(input, '2026-11-26')).toBe(127);
  });

  it('stops at the 400 days the core allows, and ignores past dates and text that only looks like one', () => {
    expect(previewHorizonDays({ dates: [{ date: '2030-01-01' }] }, '2026-11-26')).toBe(400);
    expect(previewHorizonDays({ dates: [{ date: '2020-01-01' }], notes: 'moved 2027-05-01 meeting' }, '2026-11-26')).toBe(7);
  });
});
