// Shared by the hub differential tests: the zones, the table window of the random sites, and the
// decision fields the hub and the core must agree on.
import type { Decision as CoreDecision } from '../../core/access/decide.ts';
import type { AccessSnapshot } from '../../core/access/snapshot.ts';
import { tableWindow } from '../../core/access/table/compile.ts';
import { BASE_MS } from '../../core/access/testing/random-site.ts';
import type { Decision as HubDecision } from '../../drivers/hub-sim/evaluator.ts';

/**
 * Chosen for awkward DST: 30-minute (Lord Howe), 45-minute offsets (Chatham), half-hour offsets with
 * DST (St John's), a 2-hour jump (Troll), DST suspended for Ramadan (Casablanca), and changes at
 * midnight so that a day has no 00:00 (Santiago, Beirut, Havana); Kolkata and UTC have none.
 */
export const ZONES = [
  'Europe/Amsterdam',
  'America/New_York',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'America/St_Johns',
  'Antarctica/Troll',
  'Africa/Casablanca',
  'America/Santiago',
  'Asia/Beirut',
  'America/Havana',
  'Asia/Kolkata',
  'UTC',
] as const;

/** The validity window of every table compiled at BASE_MS. */
export const WINDOW = tableWindow(BASE_MS);

export const comparable = (d: HubDecision) => ({ granted: d.granted, reason: d.reason, group: d.granted ? d.groupPk : null, schedule: d.granted ? d.schedulePk : null });

export function expectedOf(snap: AccessSnapshot, e: CoreDecision) {
  const g = e.access_group_id ? snap.groups.get(e.access_group_id)! : null;
  const s = g && e.time_schedule_id ? g.schedules.find((x) => x.id === e.time_schedule_id)! : null;
  return { granted: e.granted, reason: e.reason, group: g?.pk ?? null, schedule: s?.pk ?? null };
}
