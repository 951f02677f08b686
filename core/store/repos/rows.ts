// Row ↔ record conversion: SQLite has no booleans, so 0/1 columns are turned into true/false.
export type SqlRow = Record<string, unknown>;

export function withBooleans<T>(row: SqlRow, booleans: readonly string[]): T {
  const out: SqlRow = { ...row };
  delete out.pk;
  for (const b of booleans) out[b] = out[b] === 1;
  return out as T;
}

export const bit = (b: boolean): number => (b ? 1 : 0);

export const SCHEDULE_BOOLEANS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'holiday', 'special_1', 'special_2'] as const;
