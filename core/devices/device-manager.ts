// The hubs connected to this installation, whatever their link: drivers report a connection (attach),
// the manager keeps one HubSession per connection and routes the core's table changes to the session
// of the IQ they concern, so a change reaches its hub as soon as it is committed.
import { randomBytes } from 'node:crypto';
import { GatehouseError } from '../contract/errors.ts';
import type { HubTransport } from '../contract/results.ts';
import type { GatehouseService } from '../service/service.ts';
import { getIq } from '../store/repos/iqs.ts';
import { serviceDeviceHost, type DeviceHost } from './device-host.ts';
import { HubSession, type HubSessionOptions, type HubSessionStatus } from './hub-session.ts';
import type { HubConnection, HubLockCommandResult } from './ports.ts';

/** How long an operator waits for a hub's answer before being told it did not come. */
const COMMAND_TIMEOUT_MS = 20_000;

export const DEFAULT_SESSION_OPTIONS: HubSessionOptions = { eventBatch: 200, pollMs: 2000, retryMs: 1000, maxRetryMs: 60_000 };

export class DeviceManager {
  private readonly sessions = new Set<HubSession>();
  private readonly transportNotes = new Map<string, HubTransport>();
  private readonly offs: Array<() => void>;
  private readonly host: DeviceHost;

  constructor(
    private readonly service: GatehouseService,
    private readonly opts: HubSessionOptions = DEFAULT_SESSION_OPTIONS,
    private readonly onStatus: (s: HubSessionStatus) => void = () => {},
  ) {
    this.host = serviceDeviceHost(service);
    this.offs = [
      service.on('iq.sync_state', (e) => {
        if (e.data_sync_state !== 'pending') return;
        for (const s of this.sessions) if (s.iqId === e.iq_id) s.tableChanged();
      }),
      service.on('model.changed', (e) => {
        if (!e.kinds.includes('iq')) return;
        for (const s of this.sessions) s.iqsChanged();
      }),
    ];
    // Handlers reach the hardware through the service; the newest manager of a service is its hardware.
    service.devices = this;
  }

  /** Starts looking after a newly connected hub; the session ends when its link closes. */
  attach(conn: HubConnection): HubSession {
    const session = new HubSession(conn, this.host, this.opts, (s) => {
      if (s.state === 'closed') this.sessions.delete(session);
      this.onStatus(s);
      this.service.emit('hub.status', s);
    });
    this.sessions.add(session);
    return session;
  }

  /** The composition root says how it looks for hubs and what stands in the way (shown on the hubs page). */
  reportTransport(t: HubTransport): void {
    this.transportNotes.set(t.id, t);
  }

  transports(): HubTransport[] {
    return [...this.transportNotes.values()];
  }

  hubs(): HubSessionStatus[] {
    return [...this.sessions].map((s) => s.status());
  }

  /** The hub link at this address (hubs.list names it), or a clear error. */
  byAddress(address: string): HubSessionStatus {
    const s = [...this.sessions].find((x) => x.status().address === address);
    if (!s) throw new GatehouseError('not_found', `No hub is connected at '${address}' now; it may have been unplugged`);
    return s.status();
  }

  /** Fails (with the IQ's name) unless the IQ's hub is connected and claimed: checked before anything is written. */
  requireConnected(iqId: string): void {
    this.sessionOf(iqId);
  }

  /** Runs an operator's command on the IQ's hub and waits for its answer (up to 20 s). */
  onHub<T>(iqId: string, what: string, run: (conn: HubConnection) => Promise<T>): Promise<T> {
    return this.exec(this.sessionOf(iqId), `the hub of ${this.iqName(iqId)}`, what, run);
  }

  /** The same for a hub named by its address (it may not be claimed yet). */
  onAddress<T>(address: string, what: string, run: (conn: HubConnection) => Promise<T>): Promise<T> {
    this.byAddress(address);
    const session = [...this.sessions].find((x) => x.status().address === address)!;
    return this.exec(session, `the hub at ${address}`, what, run);
  }

  private async exec<T>(session: HubSession, hub: string, what: string, run: (conn: HubConnection) => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GatehouseError('unavailable', `${what}: ${hub} did not answer within ${COMMAND_TIMEOUT_MS / 1000} s`)), COMMAND_TIMEOUT_MS);
    });
    try {
      return await Promise.race([session.exec(run), timeout]);
    } catch (e) {
      if (e instanceof GatehouseError) throw e;
      throw new GatehouseError('unavailable', `${what}: ${hub} answered: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Asks the hub for its locks' state now and records it (after a command, so screens show the result at once). */
  async refreshLocks(iqId: string): Promise<void> {
    this.host.reportLocks(iqId, await this.onHub(iqId, 'Reading the locks', (c) => c.lockStatuses()));
  }

  /**
   * A remote open or office-mode change, carried out by the hub: `confirmation` is fresh per operator
   * action, so the client's own retries after a lost reply never open twice. The entry it causes comes
   * back as a hub event (with the operator's name), like every other entry.
   */
  async lockCommand(iqId: string, lockId: string, what: string, run: (conn: HubConnection, confirmation: Uint8Array) => Promise<HubLockCommandResult>): Promise<void> {
    const confirmation = new Uint8Array(randomBytes(16));
    const r = await this.onHub(iqId, what, (c) => run(c, confirmation));
    this.host.reportLocks(iqId, [{ lock_id: r.lock_id, lock_state: r.lock_state, office_mode: r.office_mode }]);
    // The hub has an event for this now; fetch it rather than wait for the next poll.
    this.sessionOf(iqId).eventsPending();
  }

  private sessionOf(iqId: string): HubSession {
    const s = [...this.sessions].find((x) => x.iqId === iqId);
    if (!s) throw new GatehouseError('unavailable', `The hub of ${this.iqName(iqId)} is not connected; plug it in (or check its network) and try again`);
    return s;
  }

  private iqName(iqId: string): string {
    const iq = getIq(this.service.db.read, iqId);
    return iq ? `IQ '${iq.customer_reference}'` : `IQ ${iqId}`;
  }

  async close(): Promise<void> {
    if (this.service.devices === this) this.service.devices = null;
    for (const off of this.offs.splice(0)) off();
    await Promise.all([...this.sessions].map((s) => s.close()));
    this.sessions.clear();
  }
}
