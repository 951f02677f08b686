// The conflict policy (docs/cloud-sync.md, "Conflicts"): a field-level three-way merge of one record
// against the base both sides last agreed on. Pure: the sync engine feeds it what it read and writes
// what it returns.
//
// A record's fields are a flat map where absent and null are the same value (core/domain/cloud.ts),
// so two admins adding different people to one group never conflict. A record of null is deleted (or,
// as a base, not in the cloud yet).

import type { Fields, Json } from '../domain/cloud.ts';

export type { Fields, Json };

export type SideName = 'local' | 'cloud';

export interface Side {
  fields: Fields | null;
  /** When the record last changed on this side (ms since the epoch). */
  at: number;
  /** When single fields last changed, where this side knows it better than `at`. */
  fieldAt?: Readonly<Record<string, number>>;
}

export interface FieldConflict {
  field: string;
  local: Json;
  cloud: Json;
  base: Json;
  winner: SideName;
}

/** One side deleted the record while the other changed it: the edited fields are kept here. */
export interface DeleteConflict {
  deletedBy: SideName;
  edited: Fields;
  base: Fields;
}

export interface MergeResult {
  /** The record both sides should hold; null: deleted. */
  merged: Fields | null;
  conflicts: FieldConflict[];
  deleteConflict: DeleteConflict | null;
}

/** JSON with object keys sorted, so equal values have equal text. */
export function canonical(value: Json | undefined): string {
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export const sameValue = (a: Json | undefined, b: Json | undefined): boolean => canonical(a) === canonical(b);

/** The fields with null values dropped: the one form every map of fields is compared in. */
export function normalized(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined));
}

export function sameFields(a: Fields | null, b: Fields | null): boolean {
  if (a === null || b === null) return a === b;
  return canonical(normalized(a) as Json) === canonical(normalized(b) as Json);
}

/** The fields of `to` that differ from `from`, a cleared one as null. */
export function changedFields(from: Fields, to: Fields): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const k of new Set([...Object.keys(from), ...Object.keys(to)])) {
    if (!sameValue(from[k], to[k])) out[k] = to[k] ?? null;
  }
  return out;
}

const timeOf = (s: Side, field: string): number => s.fieldAt?.[field] ?? s.at;

/**
 * Who wins a field both sides changed to different values: the later writer. Equal times (clocks of
 * one-second resolution, or a replay) fall to the value that sorts last, so the choice never depends
 * on which side is called local and both sides reach the same result.
 */
function winnerOf(field: string, local: Side, cloud: Side): SideName {
  const l = timeOf(local, field);
  const c = timeOf(cloud, field);
  if (l !== c) return l > c ? 'local' : 'cloud';
  return canonical(local.fields?.[field]) > canonical(cloud.fields?.[field]) ? 'local' : 'cloud';
}

/**
 * Merges the local and the cloud version of a record against `base`, what the cloud last held as far
 * as this site knows (null: the record was never in common).
 *
 * - A field changed on one side only takes that side's value.
 * - A field changed on both sides to the same value is not a conflict.
 * - A field changed on both sides to different values takes the later writer's value, reported as a
 *   conflict for the admin to review.
 * - A delete on one side against a change on the other: the delete stands (a door must not keep
 *   opening for someone an admin removed), and the changed fields are reported so the admin can bring
 *   the record back with them. A delete against an unchanged record is simply a delete.
 */
export function mergeRecord(base: Fields | null, local: Side, cloud: Side): MergeResult {
  const l = local.fields;
  const c = cloud.fields;
  if (base === null) {
    // Never in common: whichever side has it brings it; both having it (linked by a natural key) merges
    // against an empty base, so every field they disagree on is a conflict.
    if (l === null || c === null) return { merged: l ?? c, conflicts: [], deleteConflict: null };
    return mergeFields({}, local, cloud);
  }
  if (l === null && c === null) return { merged: null, conflicts: [], deleteConflict: null };
  if (l === null || c === null) {
    const survivor = (l ?? c)!;
    const deletedBy: SideName = l === null ? 'local' : 'cloud';
    const edited = sameFields(survivor, base) ? null : survivor;
    return { merged: null, conflicts: [], deleteConflict: edited ? { deletedBy, edited: normalized(edited), base: normalized(base) } : null };
  }
  return mergeFields(base, local, cloud);
}

function mergeFields(base: Fields, local: Side, cloud: Side): MergeResult {
  const l = local.fields!;
  const c = cloud.fields!;
  const merged: Record<string, Json> = {};
  const conflicts: FieldConflict[] = [];
  const keys = [...new Set([...Object.keys(base), ...Object.keys(l), ...Object.keys(c)])].sort();
  for (const k of keys) {
    const lv = l[k] ?? null;
    const cv = c[k] ?? null;
    const bv = base[k] ?? null;
    let value: Json;
    if (sameValue(lv, cv) || sameValue(cv, bv)) value = lv;
    else if (sameValue(lv, bv)) value = cv;
    else {
      const winner = winnerOf(k, local, cloud);
      value = winner === 'local' ? lv : cv;
      conflicts.push({ field: k, local: lv, cloud: cv, base: bv, winner });
    }
    if (value !== null) merged[k] = value;
  }
  return { merged, conflicts, deleteConflict: null };
}
