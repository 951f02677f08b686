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
  last_id: number | null;
  more: boolean;
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
  /** The hub has new events (a driver may also never call this; the manager polls too). */
  onEventsPending(listener: () => void): () => void;
  /** The link is gone (unplugged, reset, closed). */
  onClose(listener: (reason: string) => void): () => void;
  close(): Promise<void>;
}
