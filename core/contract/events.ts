// Events the core pushes to front ends (over IPC or a WebSocket), by name.
import type { DataSyncState, LockedState } from '../domain/enums.ts';
import type { CloudStatus, EncodersState, EntryRow, HubStatus, IncidentRow } from './results.ts';

export interface ContractEvents {
  /** Something in the model changed; lists of ids by kind, so views can refresh what they show. */
  'model.changed': { kinds: string[]; ids: string[] };
  'lock.state': { lock_id: string; locked_state: LockedState; online: boolean };
  'entry.new': EntryRow;
  'incident.new': IncidentRow;
  /** A tag shown to a lock in tag registration mode (docs/iq-protocol.md): for the screen enrolling tags. */
  'tag.presented': { lock_id: string; card_uid: string; tag_number: string | null; time: string };
  /** A hub link changed state (connected, claimed, syncing, ready, failed, gone): for the hubs page. */
  'hub.status': HubStatus;
  /** Encoders attached or detached, a card placed or removed, an encoder busy or free: the whole picture. */
  'encoder.status': EncodersState;
  /** How far the work on an encoder is, for the station's progress display. */
  'encoder.progress': { encoder_id: string; step: EncoderStep; blocks_written: number; message: string | null };
  /** Cloud sync connected, signed in or out, a round started or finished: the whole status. */
  'cloud.status': CloudStatus;
  'iq.sync_state': { iq_id: string; data_sync_state: DataSyncState; online?: boolean; version: number; hash: string };
}
export type EventName = keyof ContractEvents;

export type EncoderStep = 'waiting_for_card' | 'reading' | 'authenticating' | 'writing' | 'verifying' | 'saving' | 'done' | 'failed';
