// The hubs connected to this installation, whatever their link: drivers report a connection (attach),
// the manager keeps one HubSession per connection and routes the core's table changes to the session
// of the IQ they concern, so a change reaches its hub as soon as it is committed.
import type { GatehouseService } from '../service/service.ts';
import { serviceDeviceHost, type DeviceHost } from './device-host.ts';
import { HubSession, type HubSessionOptions, type HubSessionStatus } from './hub-session.ts';
import type { HubConnection } from './ports.ts';

export const DEFAULT_SESSION_OPTIONS: HubSessionOptions = { eventBatch: 200, pollMs: 2000, retryMs: 1000, maxRetryMs: 60_000 };

export class DeviceManager {
  private readonly sessions = new Set<HubSession>();
  private readonly offs: Array<() => void>;
  private readonly host: DeviceHost;

  constructor(
    service: GatehouseService,
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
  }

  /** Starts looking after a newly connected hub; the session ends when its link closes. */
  attach(conn: HubConnection): HubSession {
    const session = new HubSession(conn, this.host, this.opts, (s) => {
      if (s.state === 'closed') this.sessions.delete(session);
      this.onStatus(s);
    });
    this.sessions.add(session);
    return session;
  }

  hubs(): HubSessionStatus[] {
    return [...this.sessions].map((s) => s.status());
  }

  async close(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    await Promise.all([...this.sessions].map((s) => s.close()));
    this.sessions.clear();
  }
}
