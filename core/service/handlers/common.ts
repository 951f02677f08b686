// Small helpers shared by the handlers.
import { randomUUID } from 'node:crypto';
import { notFound } from '../../contract/errors.ts';
import type { TouchKind } from '../change-set.ts';
import type { CommandContext } from '../context.ts';

export const newId = (): string => randomUUID();

export function must<T>(value: T | null | undefined, what: string, id: string): T {
  if (value === null || value === undefined) throw notFound(what, id);
  return value;
}

/** Applies the defined fields of a patch (undefined = leave as is) to a copy of a record. */
export function patched<T extends object>(record: T, patch: Partial<T>): T {
  const out = { ...record };
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** The fields that differ, as [before, after] images for the operator log. */
export function delta<T extends object>(before: T, after: T): { before: Partial<T>; after: Partial<T> } | null {
  const b: Partial<T> = {};
  const a: Partial<T> = {};
  for (const k of Object.keys(after) as Array<keyof T>) {
    if (k === 'updated_at') continue;
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      b[k] = before[k];
      a[k] = after[k];
    }
  }
  return Object.keys(a).length ? { before: b, after: a } : null;
}

/**
 * Writes `after` and logs the difference, but only when a field really changed: a PATCH that changes
 * nothing writes nothing (not even updated_at).
 */
export function saveIfChanged<T extends { updated_at: string }>(
  ctx: CommandContext,
  target: { kind: TouchKind; id: string },
  before: T,
  after: T,
  save: (record: T) => void,
): T {
  const d = delta(before, after);
  if (!d) return before;
  const saved = { ...after, updated_at: ctx.nowIso };
  save(saved);
  ctx.log({ target_type: target.kind, target_id: target.id, ...d });
  return saved;
}
