// Events the core pushes to front ends (over IPC or a WebSocket), by name.
import type { DataSyncState, LockedState } from '../domain/enums.ts';
import type { EntryRow, IncidentRow } from './results.ts';

export interface ContractEvents {
  /** Something in the model changed; lists of ids by kind, so views can refresh what they show. */
  'model.changed': { kinds: string[]; ids: string[] };
  'lock.state': { lock_id: string; locked_state: LockedState; online: boolean };
  'entry.new': EntryRow;
  'incident.new': IncidentRow;
  'iq.sync_state': { iq_id: string; data_sync_state: DataSyncState; online?: boolean; version: number; hash: string };
}
export type EventName = keyof ContractEvents;
