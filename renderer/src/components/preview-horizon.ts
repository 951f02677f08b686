// How far ahead the access diff looks: a week, or up to the furthest date a change names (a holiday
// three months out, a schedule that starts in spring, a validity that ends next year) so that the
// preview shows the change itself rather than "nobody gains or loses". access.preview allows 400 days.
export const DEFAULT_HORIZON_DAYS = 7;
export const MAX_HORIZON_DAYS = 400;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/;

/** Days from today (a YYYY-MM-DD in the site's zone) to cover every date in input, plus the day after. */
export function previewHorizonDays(input: unknown, today: string): number {
  const start = Date.UTC(Number(today.slice(0, 4)), Number(today.slice(5, 7)) - 1, Number(today.slice(8, 10)));
  let furthest = 0;
  const walk = (v: unknown, depth: number) => {
    if (depth > 20) return;
    if (typeof v === 'string') {
      const m = DATE_RE.exec(v);
      if (m) furthest = Math.max(furthest, (Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - start) / 86_400_000);
    } else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(input, 0);
  return Math.min(MAX_HORIZON_DAYS, Math.max(DEFAULT_HORIZON_DAYS, Math.ceil(furthest) + 2));
}
