// One connected hub, kept in step with the core: bound to its IQ record by MAC, told the time and zone,
// given the current access table (as a diff when the core still has the version the hub enforces) and
// the site's card key (whenever the hub holds another, or none), and emptied of events — each batch
// stored in one transaction before the hub is told it may forget it, so a crash between the two only
// means the hub sends the batch again and the core's ingest (idempotent by hub and event id) stores it
// once.
//
// All work on one link runs one step at a time (a hub answers one command at a time); requests that
// arrive meanwhile are coalesced into the next run. Operator commands (remote open, pairing, tag
// registration) queue ahead of the background work, so a door opens without waiting for a table push.
import { type AccessTable, diffTables, serializeDiff } from '../access/table/access-table.ts';
import { findTransitions, liveOffsetFn } from '../time/zone.ts';
import type { HubStatus } from '../contract/results.ts';
import type { Iq } from '../domain/model.ts';
import type { ActiveTable, HubConnection, HubIdentity } from './ports.ts';
import type { DeviceHost } from './device-host.ts';

export type HubSessionState = HubStatus['state'];

export type HubSessionStatus = HubStatus;

export interface HubSessionOptions {
  /** Events fetched per round trip. */
  eventBatch: number;
  /** How often to ask for events when the hub does not say it has some (ms). */
  pollMs: number;
  /** First retry after a failed push or fetch (ms); doubles up to maxRetryMs. */
  retryMs: number;
  maxRetryMs: number;
}

/** How far ahead (and back) the hub is given the zone's offset changes: the table's whole window. */
const CLOCK_BACK_MS = 4 * 86_400_000;
const CLOCK_AHEAD_MS = 445 * 86_400_000;

export class HubSession {
  private state: HubSessionState = 'connecting';
  private identity: HubIdentity | null = null;
  private iq: Iq | null = null;
  private active: ActiveTable | null = null;
  /** The table last made active on the hub, kept so the next change can go as a diff. */
  private sent: AccessTable | null = null;
  private lastError: string | null = null;
  private stored = 0;
  private lost = 0;
  private countsSentAt = 0;
  private scheduled: ReturnType<typeof setImmediate> | null = null;
  private running = false;
  private wanted = { table: false, events: false, bind: false, locks: false, siteKey: false };
  /** The fingerprint of the site card key the hub holds (null: none); undefined until read from the hub. */
  private hubSiteKey: string | null | undefined = undefined;
  /** A site key this installation could not open: said once, not at every poll. */
  private unopenable: string | null = null;
  private readonly queue: Array<{ run: (c: HubConnection) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  private retry: ReturnType<typeof setTimeout> | null = null;
  private retryDelay: number;
  private readonly poll: ReturnType<typeof setInterval>;
  private readonly offs: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly conn: HubConnection,
    private readonly host: DeviceHost,
    private readonly o: HubSessionOptions,
    private readonly onChange: (s: HubSessionStatus) => void,
  ) {
    this.retryDelay = o.retryMs;
    this.offs.push(conn.onEventsPending(() => this.request('events')));
    this.offs.push(conn.onClose((reason) => this.end(`the link closed: ${reason}`)));
    this.poll = setInterval(() => {
      this.request('events');
      this.request('locks');
      // Cheap while nothing changed (one row read, nothing decrypted): a key imported, or made for the
      // first encoded card, reaches the hub within a poll.
      this.request('siteKey');
    }, o.pollMs);
    this.poll.unref?.();
    this.request('bind');
  }

  get iqId(): string | null {
    return this.iq?.id ?? null;
  }

  status(): HubSessionStatus {
    return {
      address: this.conn.address,
      state: this.state,
      mac: this.identity?.mac ?? null,
      serial: this.identity?.serial ?? null,
      firmware: this.identity?.firmware ?? null,
      iq_id: this.iq?.id ?? null,
      table: this.active,
      last_error: this.lastError,
      events_stored: this.stored,
      events_lost: this.lost,
    };
  }

  /** The core compiled a new table for this session's IQ (or the IQ records changed: try to bind). */
  tableChanged(): void {
    this.request('table');
  }

  /** Something on the hub produced events (a command we sent): fetch them now. */
  eventsPending(): void {
    this.request('events');
  }

  iqsChanged(): void {
    // Unclaimed: a new IQ record may name this hub. Bound: its record may have been deleted or given another MAC.
    if (this.state === 'unclaimed' || (this.iq && this.host.iqByMac(this.identity!.mac)?.id !== this.iq.id)) this.request('bind');
  }

  /**
   * Runs an operator's command on the hub between background steps. It fails at once when the link is
   * gone; a failure of the command itself leaves the session as it is (the hub said no, the link is fine).
   */
  exec<T>(run: (conn: HubConnection) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the hub is no longer connected'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      this.wanted.locks = true;
      void this.run();
    });
  }

  async close(): Promise<void> {
    this.end('closed by Gatehouse', true);
    await this.conn.close().catch(() => {});
  }

  private request(what: 'table' | 'events' | 'bind' | 'locks' | 'siteKey'): void {
    if (this.closed) return;
    this.wanted[what] = true;
    // Not inside the caller: a table change arrives in the command's own after-commit step, and
    // diffing tables there for every hub would make the operator's command wait for all of them.
    if (this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = null;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      while (!this.closed && (this.wanted.bind || this.wanted.table || this.wanted.events || this.wanted.siteKey || this.wanted.locks || this.queue.length > 0)) {
        if (this.wanted.bind) {
          this.wanted.bind = false;
          await this.bind();
          continue;
        }
        const job = this.queue.shift();
        if (job) {
          await job.run(this.conn).then(job.resolve, job.reject);
          continue;
        }
        if (!this.iq) {
          this.wanted.table = this.wanted.events = this.wanted.siteKey = this.wanted.locks = false;
          break;
        }
        if (this.wanted.table) {
          this.wanted.table = false;
          await this.syncTable();
          continue;
        }
        if (this.wanted.events) {
          this.wanted.events = false;
          await this.drainEvents();
          continue;
        }
        // After the table and the events: a hub that cannot take the key must not hold those up.
        if (this.wanted.siteKey) {
          this.wanted.siteKey = false;
          await this.syncSiteKey();
          continue;
        }
        this.wanted.locks = false;
        this.host.reportLocks(this.iq.id, await this.conn.lockStatuses());
      }
      this.retryDelay = this.o.retryMs;
    } catch (e) {
      this.fail(e);
    } finally {
      this.running = false;
      // A failed background step must not hold an operator's command until the retry.
      if (this.queue.length > 0 && !this.closed) queueMicrotask(() => void this.run());
    }
  }

  private async bind(): Promise<void> {
    this.identity = await this.conn.identify();
    this.active = this.identity.table;
    const previous = this.iq;
    this.iq = this.host.iqByMac(this.identity.mac);
    if (previous && previous.id !== this.iq?.id) {
      this.host.reportIq(previous.id, { online: false });
      this.host.locksUnreachable(previous.id);
    }
    if (!this.iq) {
      this.sent = null;
      this.setState('unclaimed');
      return;
    }
    this.setState('syncing');
    this.host.linkUp(this.iq.id);
    this.host.reportIq(this.iq.id, { online: true, firmware: this.identity.firmware, serial: this.identity.serial, signal_strength: this.identity.signal_strength });
    await this.conn.setClock(this.clockFor(this.iq.time_zone));
    this.wanted.table = true;
    this.wanted.events = true;
    this.wanted.siteKey = true;
    this.wanted.locks = true;
  }

  private clockFor(zone: string) {
    const now = this.host.now();
    return { utc_ms: now, zone, ...zoneChanges(zone, now) };
  }

  private async syncTable(): Promise<void> {
    const iq = this.iq!;
    const want = this.host.table(iq.id);
    if (!want) return;
    if (this.active?.hash === want.table.hash) {
      this.sent ??= want.table.clone();
      this.host.reportIq(iq.id, { data_sync_state: 'synced' });
      this.setState('ready');
      return;
    }
    this.setState('syncing');
    const diff = this.sent && this.active && this.sent.hash === this.active.hash ? serializeDiff(diffTables(this.sent, want.table)) : null;
    const full = diff ? null : want.table.serialize();
    const result = await this.conn.activateTable(diff ? { kind: 'diff', bytes: diff, version: want.version, hash: want.table.hash } : { kind: 'full', bytes: full!, version: want.version, hash: want.table.hash });
    this.active = result;
    if (result.hash !== want.table.hash) throw new Error(`the hub kept version ${result.version} (${result.hash.slice(0, 12)}) instead of ${want.version}`);
    this.sent = want.table.clone();
    // The core may have moved on while the table travelled; the next run sends the newer one.
    const now = this.host.table(iq.id);
    if (now && now.table.hash !== result.hash) {
      this.wanted.table = true;
      return;
    }
    this.host.reportIq(iq.id, { data_sync_state: 'synced' });
    this.setState('ready');
  }

  /** Gives the hub the site's current card key when it holds another or none; a site without one sends nothing. */
  private async syncSiteKey(): Promise<void> {
    const want = this.host.siteKeyFingerprint();
    if (want === null || want === this.hubSiteKey || want === this.unopenable) return;
    if (this.hubSiteKey === undefined) {
      this.hubSiteKey = await this.conn.siteKeyFingerprint();
      if (this.hubSiteKey === want) return;
    }
    let k: ReturnType<DeviceHost['siteKey']>;
    try {
      k = this.host.siteKey();
    } catch (e) {
      // Retrying cannot open it; importing the key (a new fingerprint) can.
      this.unopenable = want;
      this.host.log('error', `hub ${this.conn.address}: it cannot be given the site's card key: ${(e as Error).message}`);
      return;
    }
    if (!k) return;
    this.hubSiteKey = await this.conn.setSiteKey({ generation: k.generation, site_id: k.site_id, key: k.key });
    this.host.log('info', `hub ${this.conn.address} (IQ '${this.iq!.customer_reference}'): holds the site's card key now (generation ${k.generation}, fingerprint ${k.fingerprint}); its locks check card credentials`);
  }

  private async drainEvents(): Promise<void> {
    const iq = this.iq!;
    for (;;) {
      const batch = await this.conn.fetchEvents(this.o.eventBatch);
      if (batch.last_id === null) return;
      // On disk first; only then may the hub forget them.
      const r = this.host.ingest(iq.id, batch.entries, batch.incidents);
      this.stored += r.stored;
      if (batch.tags_presented?.length) this.host.tagsPresented(batch.tags_presented);
      await this.conn.ackEvents(batch.last_id);
      if (batch.lost) {
        this.lost += batch.lost;
        this.host.log('warn', `hub ${this.conn.address}: ${batch.lost} event(s) were overwritten in the hub's full ring before they could be fetched`);
      }
      // The hubs page follows the counts too, at most once a second.
      if ((r.stored || batch.lost) && this.host.now() - this.countsSentAt >= 1000) {
        this.countsSentAt = this.host.now();
        this.onChange(this.status());
      }
      if (!batch.more) return;
    }
  }

  private fail(e: unknown): void {
    if (this.closed) return;
    // Whatever went wrong, the next push goes whole: a diff needs a base the hub may no longer have.
    this.sent = null;
    // Nor is it certain which site key the hub holds now: read it again.
    this.hubSiteKey = undefined;
    this.lastError = (e as Error).message;
    this.host.log('warn', `hub ${this.conn.address}: ${this.lastError}`);
    if (this.iq) this.host.reportIq(this.iq.id, { data_sync_state: 'failed' });
    this.setState('failed');
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.o.maxRetryMs);
    if (this.retry) clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = null;
      // Whatever failed, start again from what is missing: the binding, else the table and the events.
      if (!this.iq) this.request('bind');
      else {
        this.request('table');
        this.request('events');
        this.request('siteKey');
      }
    }, delay);
    this.retry.unref?.();
  }

  private end(reason: string, byUs = false): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    if (this.scheduled) clearImmediate(this.scheduled);
    if (this.retry) clearTimeout(this.retry);
    for (const off of this.offs.splice(0)) off();
    for (const job of this.queue.splice(0)) job.reject(new Error(`the hub went away (${reason})`));
    if (this.iq) {
      this.host.reportIq(this.iq.id, { online: false });
      this.host.locksUnreachable(this.iq.id);
      if (!byUs) this.host.linkLost(this.iq.id);
    }
    this.lastError = this.state === 'failed' ? this.lastError : null;
    this.host.log('info', `hub ${this.conn.address}: ${reason}`);
    this.setState('closed');
  }

  private setState(s: HubSessionState): void {
    this.state = s;
    this.onChange(this.status());
  }
}

/**
 * A zone's offset changes over the clock window, searched once per zone and hour (tens of ms for 449
 * days) rather than once per hub: twenty hubs reconnecting at once share one search. Starting the
 * window up to an hour early only adds a day's margin the hub does not need.
 */
const zoneCache = new Map<string, { initial_offset_min: number; transitions: Array<{ at_ms: number; offset_min: number }> }>();
function zoneChanges(zone: string, now: number) {
  const hour = Math.floor(now / 3_600_000) * 3_600_000;
  const key = `${zone}@${hour}`;
  let hit = zoneCache.get(key);
  if (!hit) {
    const list = findTransitions(liveOffsetFn(zone), hour - CLOCK_BACK_MS, hour + 3_600_000 + CLOCK_AHEAD_MS);
    hit = { initial_offset_min: list.initial, transitions: list.transitions.map((t) => ({ at_ms: t.at, offset_min: t.offset })) };
    if (zoneCache.size >= 64) zoneCache.delete(zoneCache.keys().next().value!);
    zoneCache.set(key, hit);
  }
  return hit;
}
