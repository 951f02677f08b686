// What the core needs of a connected IQ hub. Drivers (drivers/: OSDP over USB or TCP, the hub simulator)
// satisfy this structurally; a composition root (bin/, electron/) adapts a driver connection to it and
// hands it to the DeviceManager. Nothing here knows about bytes on a wire.

/** Who a hub says it is, and what it enforces now. */
export interface HubIdentity {
  /** The hub's MAC address, as printed on it ("00-14-22-01-23-45"); it binds the hub to an IQ record. */
  mac: string;
  serial: string;
  firmware: string;
  /** The access table it enforces (null: none yet, e.g. after a factory reset). */
  table: ActiveTable | null;
  /** 0–5 bars, null when the hub cannot tell. */
  signal_strength: number | null;
}

export interface ActiveTable {
  version: number;
  hash: string;
}

/** The zone the hub's locks keep time in, with its offset changes, so it can tell local time offline. */
export interface HubClock {
  utc_ms: number;
  zone: string;
  /** Offset (minutes) before the first transition. */
  initial_offset_min: number;
  transitions: Array<{ at_ms: number; offset_min: number }>;
}

/** A compiled table (docs/access-table.md) to make active: whole (`GHAT`) or as a diff (`GHAD`). */
export interface TablePush {
  kind: 'full' | 'diff';
  bytes: Uint8Array;
  version: number;
  hash: string;
}

/**
 * Events the hub holds that it has not had acknowledged, oldest first, in the shapes of the core's
 * ingest (entries.ingest): each carries the hub's durable event id as `event_id`. `last_id` is the id
 * to acknowledge once they are stored; `more` says the hub holds further events.
 */
export interface HubEventBatch {
  entries: unknown[];
  incidents: unknown[];
  /** Tags shown to a lock in registration mode (not access events: they go to whoever enrols tags). */
  tags_presented?: HubTagPresented[];
  last_id: number | null;
  more: boolean;
  /** Events the hub's full ring overwrote before they were fetched: gone for good. */
  lost?: number;
}

export interface HubTagPresented {
  event_id: string;
  time: string;
  lock_id: string;
  /** Upper-case hex. */
  card_uid: string;
  tag_number: string | null;
}

/** A lock paired with the hub, by the core's lock id. */
export interface HubLock {
  lock_id: string;
  /** Radio address ("00-11-22-33-44-55"). */
  address: string;
  serial: string;
}

/** What a paired lock reports through its hub. */
export interface HubLockStatus {
  lock_id: string;
  online: boolean;
  left_open: boolean;
  intrusion: boolean;
  tamper: boolean;
  privacy_mode: boolean;
  tag_registration: boolean;
  battery: 'fresh' | 'low' | 'very_low' | 'unknown';
  /** The bolt; office mode is reported apart. */
  lock_state: 'locked' | 'unlocked' | 'uncertain';
  office_mode: 'none' | 'easy_office_mode' | 'manual_office_mode';
}

/** The lock after a remote command; `replayed`: the hub had carried out this confirmation before. */
export interface HubLockCommandResult {
  lock_id: string;
  replayed: boolean;
  lock_state: HubLockStatus['lock_state'];
  office_mode: HubLockStatus['office_mode'];
}

/** The site's card key (docs/credentials.md), as a hub is given it: its locks check every card's credential with it. */
export interface HubSiteKey {
  generation: number;
  site_id: string;
  /** 16 bytes. Never logged. */
  key: Uint8Array;
}

export interface HubConnection {
  /** Where it is attached ("usb:1-2.3", "tcp:192.168.1.20:7374", "sim:hub-1"), for logs and the hubs page. */
  readonly address: string;
  identify(): Promise<HubIdentity>;
  setClock(clock: HubClock): Promise<void>;
  /** Makes the table active atomically; resolves with what the hub enforces afterwards. */
  activateTable(push: TablePush): Promise<ActiveTable>;
  fetchEvents(max: number): Promise<HubEventBatch>;
  /** Everything up to and including this id is on disk in the core: the hub may forget it. */
  ackEvents(upToId: number): Promise<void>;
  /** Every paired lock's state (radio, battery, alarms, bolt, office mode). */
  lockStatuses(): Promise<HubLockStatus[]>;
  listLocks(): Promise<HubLock[]>;
  /** Pairs a lock by radio address (an empty serial skips the hub's serial check); pairing again is harmless. */
  pairLock(lock: { address: string; serial: string; lock_id: string }): Promise<HubLock & { already_paired: boolean }>;
  unpairLock(lockId: string): Promise<void>;
  /**
   * Lock commands carry the operator (copied into the hub's event) and 16 random bytes per operator
   * action: the hub carries out a confirmation once, so a repeat after a lost reply is harmless.
   */
  remoteOpen(lockId: string, operatorRef: string, confirmation: Uint8Array): Promise<HubLockCommandResult>;
  setManualOfficeMode(lockId: string, on: boolean, operatorRef: string, confirmation: Uint8Array): Promise<HubLockCommandResult>;
  /** Tag registration mode for `seconds` (0 stops it); tags shown meanwhile arrive as tags_presented. */
  startTagRegistration(lockId: string, seconds: number): Promise<{ lock_id: string; remaining_s: number }>;
  /** Makes the hub show itself (its LED flashes for `seconds`, it beeps), so an installer knows which one it is. */
  identifyBlink(seconds: number): Promise<void>;
  /** Wipes the hub's table, pairings, site key and events; it keeps its secure-channel key. */
  factoryReset(): Promise<void>;
  /** The fingerprint (16 hex digits) of the site card key the hub holds, or null when it holds none. */
  siteKeyFingerprint(): Promise<string | null>;
  /** Gives the hub the site's card key (over its secure channel only); resolves with the fingerprint it then holds. */
  setSiteKey(key: HubSiteKey): Promise<string>;
  /** The hub has new events (a driver may also never call this; the manager polls too). */
  onEventsPending(listener: () => void): () => void;
  /** The link is gone (unplugged, reset, closed). */
  onClose(listener: (reason: string) => void): () => void;
  close(): Promise<void>;
}
