// The device manager with hubs that behave like hubs at the port (a fake connection that really applies
// tables and keeps an event queue): binding by MAC, table pushes (whole, then diffs), sync states that
// follow what the hub reports, events stored exactly once even when an acknowledgement is lost, and the
// site's card key given to every hub that lacks it.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessTable, applyDiff, parseDiff } from '../access/table/access-table.ts';
import { ensureSite } from '../host/first-run.ts';
import { SecretBox } from '../secrets/secret-box.ts';
import { exportSiteKey, generateSiteKey } from '../secrets/site-key-backup.ts';
import { SiteKeys, siteKeyFingerprint } from '../secrets/site-keys.ts';
import { systemActor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { DeviceManager } from './device-manager.ts';
import type { ActiveTable, HubClock, HubConnection, HubEventBatch, HubSiteKey, TablePush } from './ports.ts';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const MAC = '00-14-22-01-23-45';
const FAST = { eventBatch: 200, pollMs: 60_000, retryMs: 20, maxRetryMs: 100 };

const open: SiteDatabase[] = [];
const managers: DeviceManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  for (const db of open.splice(0)) db.close();
});

/** A hub at the port: applies what it is sent, holds events until they are acknowledged. */
class FakeHub implements HubConnection {
  readonly address = 'sim:test';
  table: AccessTable | null = null;
  version = 0;
  clock: HubClock | null = null;
  pushes: TablePush['kind'][] = [];
  events: Array<{ id: number; entry: Record<string, unknown> }> = [];
  acked = 0;
  loseNextAck = false;
  /** Ids the ring overwrote before the next fetch (reported with it, as the host client does). */
  overwritten = 0;
  failNextActivate = false;
  private pending = new Set<() => void>();
  private closers = new Set<(reason: string) => void>();

  constructor(public mac = MAC) {}

  async identify() {
    return { mac: this.mac, serial: 'SN-1', firmware: '1.2.3', signal_strength: 4, table: this.table ? { version: this.version, hash: this.table.hash } : null };
  }
  async setClock(c: HubClock) {
    this.clock = c;
  }
  async activateTable(push: TablePush): Promise<ActiveTable> {
    this.pushes.push(push.kind);
    if (this.failNextActivate) {
      this.failNextActivate = false;
      throw new Error('radio busy');
    }
    const next = push.kind === 'full' ? AccessTable.parse(push.bytes) : applyDiff(this.table!, parseDiff(push.bytes));
    this.table = next;
    this.version = push.version;
    return { version: this.version, hash: next.hash };
  }
  async fetchEvents(max: number): Promise<HubEventBatch> {
    const out = this.events.filter((e) => e.id > this.acked).slice(0, max);
    const lost = out.length ? this.overwritten : 0;
    return { entries: out.map((e) => e.entry), incidents: [], last_id: out.at(-1)?.id ?? null, more: this.events.filter((e) => e.id > this.acked).length > out.length, lost };
  }
  async ackEvents(upTo: number) {
    if (this.loseNextAck) {
      this.loseNextAck = false;
      throw new Error('the acknowledgement was lost');
    }
    this.acked = Math.max(this.acked, upTo);
    this.overwritten = 0;
  }
  onEventsPending(l: () => void) {
    this.pending.add(l);
    return () => this.pending.delete(l);
  }
  onClose(l: (reason: string) => void) {
    this.closers.add(l);
    return () => this.closers.delete(l);
  }
  async close() {}
  paired = new Map<string, { address: string; office: boolean }>();
  async lockStatuses() {
    return [...this.paired].map(([lock_id, l]) => ({
      lock_id,
      online: true,
      left_open: false,
      intrusion: false,
      tamper: false,
      privacy_mode: false,
      tag_registration: false,
      battery: 'fresh' as const,
      lock_state: 'locked' as const,
      office_mode: l.office ? ('manual_office_mode' as const) : ('none' as const),
    }));
  }
  async listLocks() {
    return [...this.paired].map(([lock_id, l]) => ({ lock_id, address: l.address, serial: '' }));
  }
  async pairLock(l: { address: string; serial: string; lock_id: string }) {
    const already_paired = this.paired.has(l.lock_id);
    this.paired.set(l.lock_id, { address: l.address, office: false });
    return { lock_id: l.lock_id, address: l.address, serial: '', already_paired };
  }
  async unpairLock(lockId: string) {
    this.paired.delete(lockId);
  }
  confirmations = new Set<string>();
  async remoteOpen(lockId: string, operator: string, confirmation: Uint8Array) {
    const key = Buffer.from(confirmation).toString('hex');
    const replayed = this.confirmations.has(key);
    if (!replayed) {
      this.confirmations.add(key);
      const id = this.events.length + 1;
      this.events.push({ id, entry: { event_id: String(id), time: new Date(T0).toISOString(), event_category: 'lock_opened', access_by: 'remote', lock_id: lockId, actor_name: operator } });
    }
    return { lock_id: lockId, replayed, lock_state: 'locked' as const, office_mode: 'none' as const };
  }
  async setManualOfficeMode(lockId: string, on: boolean) {
    this.paired.get(lockId)!.office = on;
    return { lock_id: lockId, replayed: false, lock_state: 'unlocked' as const, office_mode: on ? ('manual_office_mode' as const) : ('none' as const) };
  }
  async startTagRegistration(lockId: string, seconds: number) {
    return { lock_id: lockId, remaining_s: seconds };
  }
  async identifyBlink() {}
  async factoryReset() {
    this.paired.clear();
    this.siteKey = null;
  }
  siteKey: { generation: number; site_id: string; fingerprint: string } | null = null;
  siteKeySets = 0;
  failNextSiteKey = false;
  async siteKeyFingerprint() {
    return this.siteKey?.fingerprint ?? null;
  }
  async setSiteKey(k: HubSiteKey) {
    this.siteKeySets++;
    if (this.failNextSiteKey) {
      this.failNextSiteKey = false;
      throw new Error('flash write failed');
    }
    this.siteKey = { generation: k.generation, site_id: k.site_id, fingerprint: siteKeyFingerprint(k.key) };
    return this.siteKey.fingerprint;
  }
  produce(n: number, lockId: string) {
    for (let i = 0; i < n; i++) {
      const id = this.events.length + 1;
      this.events.push({ id, entry: { event_id: String(id), time: new Date(T0 - (n - i) * 1000).toISOString(), event_category: 'lock_opened', access_by: 'tag', lock_id: lockId } });
    }
    for (const l of this.pending) l();
  }
  unplug() {
    for (const l of this.closers) l('unplugged');
  }
}

function site() {
  const db = openDatabase(':memory:');
  open.push(db);
  ensureSite(db, { name: 'Head office', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery', now: T0 });
  const svc = new GatehouseService(db, { now: () => T0 });
  const sys = systemActor('test');
  const iq = svc.run(sys, 'iqs.create', { mac: MAC, customer_reference: 'North IQ' });
  const door = svc.run(sys, 'locks.create', { customer_reference: 'Front door', iq_id: iq.id });
  const group = svc.run(sys, 'access_groups.create', { customer_reference: 'Staff', lock_ids: [door.id] });
  const anna = svc.run(sys, 'users.create', { first_name: 'Anna', last_name: 'Smit', access_group_ids: [group.id] });
  const tag = svc.run(sys, 'tags.create', { tag_number: '0000001001', user_id: anna.id });
  const manager = new DeviceManager(svc, FAST);
  managers.push(manager);
  const iqState = () => svc.run(sys, 'iqs.get', { id: iq.id });
  return { svc, sys, iq, door, tag, manager, iqState };
}

describe('device manager', () => {
  it('binds a hub by its MAC, sets its clock and zone, and makes the current table active', async () => {
    const s = site();
    expect(s.iqState()).toMatchObject({ online: false, data_sync_state: 'not_synced' });
    const hub = new FakeHub();
    s.manager.attach(hub);
    await vi.waitFor(() => expect(s.iqState()).toMatchObject({ online: true, data_sync_state: 'synced', firmware: '1.2.3', serial: 'SN-1' }));
    expect(hub.table?.hash).toBe(s.svc.engine.table(s.iq.id)!.hash);
    expect(hub.pushes).toEqual(['full']);
    expect(hub.clock).toMatchObject({ utc_ms: T0, zone: 'Europe/Amsterdam', initial_offset_min: 60 });
    // The zone's offset changes over the table's window (from late February 2026 for 440 days).
    expect(hub.clock!.transitions.map((t) => [new Date(t.at_ms).toISOString(), t.offset_min])).toEqual([
      ['2026-03-29T01:00:00.000Z', 120],
      ['2026-10-25T01:00:00.000Z', 60],
      ['2027-03-28T01:00:00.000Z', 120],
    ]);
    expect(s.manager.hubs()).toEqual([expect.objectContaining({ state: 'ready', iq_id: s.iq.id, mac: MAC })]);
  });

  it('sends a committed change as a diff, and the IQ goes pending, then synced', async () => {
    const s = site();
    const hub = new FakeHub();
    s.manager.attach(hub);
    await vi.waitFor(() => expect(s.iqState().data_sync_state).toBe('synced'));
    const states: string[] = [];
    s.svc.on('iq.sync_state', (e) => states.push(e.data_sync_state));
    s.svc.run(s.sys, 'tags.update', { id: s.tag.id, blocked: true });
    await vi.waitFor(() => expect(hub.table?.hash).toBe(s.svc.engine.table(s.iq.id)!.hash));
    await vi.waitFor(() => expect(s.iqState().data_sync_state).toBe('synced'));
    expect(hub.pushes).toEqual(['full', 'diff']);
    expect(states[0]).toBe('pending');
    expect(states.at(-1)).toBe('synced');
  });

  it('stores every event once, acknowledging only after they are stored, even when an acknowledgement is lost', async () => {
    const s = site();
    const hub = new FakeHub();
    hub.produce(450, s.door.id);
    hub.loseNextAck = true;
    s.manager.attach(hub);
    await vi.waitFor(() => expect(hub.acked).toBe(450), { timeout: 5000 });
    expect(s.svc.run(s.sys, 'entries.list', { with_count: true }).count).toBe(450);
    hub.produce(30, s.door.id);
    await vi.waitFor(() => expect(hub.acked).toBe(480));
    expect(s.svc.run(s.sys, 'entries.list', { with_count: true }).count).toBe(480);
    expect(s.svc.run(s.sys, 'entries.list', { lock_id: s.door.id, limit: 1 }).items[0]).toMatchObject({ event_category: 'lock_opened', lock_id: s.door.id });
  });

  it('counts events a full hub ring overwrote, and files iq_offline / iq_online when the link drops and comes back', async () => {
    const s = site();
    const hub = new FakeHub();
    hub.overwritten = 7;
    hub.produce(3, s.door.id);
    const lines: string[] = [];
    const svc = new GatehouseService(s.svc.db, { now: () => T0, log: (_l, m) => void lines.push(m) });
    const manager = new DeviceManager(svc, FAST);
    managers.push(manager);
    manager.attach(hub);
    await vi.waitFor(() => expect(manager.hubs()[0]).toMatchObject({ events_stored: 3, events_lost: 7 }));
    expect(lines.join('\n')).toMatch(/7 event\(s\) were overwritten/);
    hub.unplug();
    manager.attach(hub);
    await vi.waitFor(() => expect(manager.hubs()[0]).toMatchObject({ state: 'ready' }));
    expect(svc.run(s.sys, 'incidents.list', { iq_id: s.iq.id }).items.map((i) => i.incident_type)).toEqual(['iq_online', 'iq_offline']);
  });

  it('lists a hub no IQ claims as unclaimed, and binds it once an installer registers its MAC', async () => {
    const s = site();
    const hub = new FakeHub('00-14-22-99-99-99');
    s.manager.attach(hub);
    await vi.waitFor(() => expect(s.manager.hubs()).toEqual([expect.objectContaining({ state: 'unclaimed', mac: '00-14-22-99-99-99', iq_id: null })]));
    expect(hub.pushes).toEqual([]);
    const iq = s.svc.run(s.sys, 'iqs.create', { mac: '00-14-22-99-99-99', customer_reference: 'South IQ' });
    await vi.waitFor(() => expect(s.manager.hubs()[0]).toMatchObject({ state: 'ready', iq_id: iq.id }));
    expect(s.svc.run(s.sys, 'iqs.get', { id: iq.id })).toMatchObject({ online: true, data_sync_state: 'synced' });
  });

  it('after a refused diff, sends the next table whole rather than the same diff again', async () => {
    const s = site();
    const hub = new FakeHub();
    s.manager.attach(hub);
    await vi.waitFor(() => expect(s.iqState().data_sync_state).toBe('synced'));
    hub.failNextActivate = true;
    s.svc.run(s.sys, 'tags.update', { id: s.tag.id, blocked: true });
    await vi.waitFor(() => expect(s.iqState().data_sync_state).toBe('synced'));
    expect(hub.pushes).toEqual(['full', 'diff', 'full']);
    expect(hub.table?.hash).toBe(s.svc.engine.table(s.iq.id)!.hash);
  });

  it('marks the IQ failed when the hub refuses a table, then retries until it is synced', async () => {
    const s = site();
    const hub = new FakeHub();
    hub.failNextActivate = true;
    const seen: string[] = [];
    s.svc.on('iq.sync_state', (e) => seen.push(e.data_sync_state));
    s.manager.attach(hub);
    await vi.waitFor(() => expect(s.iqState().data_sync_state).toBe('synced'));
    expect(seen).toContain('failed');
    expect(hub.pushes).toEqual(['full', 'full']);
    expect(s.manager.hubs()[0]).toMatchObject({ state: 'ready', last_error: 'radio busy' });
  });

  it('opens a door through its hub: the entry is the hub\'s event, and an unplugged hub is refused before anything is written', async () => {
    const s = site();
    const hub = new FakeHub();
    hub.paired.set(s.door.id, { address: '00-11-22-33-44-55', office: false });
    s.manager.attach(hub);
    await vi.waitFor(() => expect(s.svc.run(s.sys, 'locks.get', { id: s.door.id })).toMatchObject({ online: true, iq_link_state: 'attached' }));
    expect(() => s.svc.run(s.sys, 'locks.set_locking', { id: s.door.id, locked_state: 'unlocked' })).toThrow(/runAsync/);
    await s.svc.runAsync(s.sys, 'locks.set_locking', { id: s.door.id, locked_state: 'unlocked' });
    await vi.waitFor(() => expect(s.svc.run(s.sys, 'entries.list', { access_by: 'remote', with_count: true }).count).toBe(1));
    expect(s.svc.run(s.sys, 'entries.list', { access_by: 'remote' }).items[0]).toMatchObject({ lock_id: s.door.id, event_category: 'lock_opened' });
    const office = await s.svc.runAsync(s.sys, 'locks.set_locking', { id: s.door.id, locked_state: 'office_mode' });
    expect(office).toMatchObject({ locked_state: 'office_mode', office_mode: 'manual_office_mode' });
    hub.unplug();
    expect(s.svc.run(s.sys, 'locks.get', { id: s.door.id })).toMatchObject({ online: false });
    const logged = s.svc.db.read.prepare('SELECT COUNT(*) AS n FROM operator_log').get() as { n: number };
    await expect(s.svc.runAsync(s.sys, 'locks.set_locking', { id: s.door.id, locked_state: 'locked' })).rejects.toMatchObject({ code: 'unavailable', message: /hub of IQ 'North IQ' is not connected/ });
    expect(s.svc.db.read.prepare('SELECT COUNT(*) AS n FROM operator_log').get()).toEqual(logged);
  });

  it('takes the IQ offline when the hub is unplugged, and a replugged hub with the table needs no push', async () => {
    const s = site();
    const hub = new FakeHub();
    s.manager.attach(hub);
    await vi.waitFor(() => expect(s.iqState().data_sync_state).toBe('synced'));
    hub.unplug();
    expect(s.iqState()).toMatchObject({ online: false });
    expect(s.manager.hubs()).toEqual([]);
    s.manager.attach(hub);
    await vi.waitFor(() => expect(s.iqState()).toMatchObject({ online: true, data_sync_state: 'synced' }));
    expect(hub.pushes).toEqual(['full']);
  });
});

describe("the site's card key", () => {
  /** A site whose installation holds the master key, its hub sessions polling every 30 ms, its log kept. */
  function keyed(box: SecretBox | null = new SecretBox(new Uint8Array(randomBytes(32)))) {
    const s = site();
    const lines: string[] = [];
    const svc = new GatehouseService(s.svc.db, { now: () => T0, log: (level, m) => void lines.push(`[${level}] ${m}`) });
    svc.secrets = box;
    const manager = new DeviceManager(svc, { ...FAST, pollMs: 30 });
    managers.push(manager);
    const keys = () => new SiteKeys(svc.db, svc.secrets!, svc.now);
    const ready = () => vi.waitFor(() => expect(manager.hubs()[0]).toMatchObject({ state: 'ready', iq_id: s.iq.id }));
    return { ...s, svc, manager, lines, keys, ready };
  }
  const given = (lines: string[]) => lines.filter((l) => l.includes("holds the site's card key now"));

  it('sends nothing while the site has no card key, then gives it to the connected hub within a poll, once', async () => {
    const s = keyed();
    const hub = new FakeHub();
    s.manager.attach(hub);
    await s.ready();
    await new Promise((r) => setTimeout(r, 100));
    expect([hub.siteKey, hub.siteKeySets]).toEqual([null, 0]);

    // The encoder makes the key for the first card it encodes.
    const k = s.keys().currentOrCreate();
    await vi.waitFor(() => expect(hub.siteKey).toEqual({ generation: 1, site_id: k.site_id, fingerprint: k.fingerprint }));
    await new Promise((r) => setTimeout(r, 100));
    expect(hub.siteKeySets).toBe(1);
    expect(given(s.lines)).toEqual([`[info] hub sim:test (IQ 'North IQ'): holds the site's card key now (generation 1, fingerprint ${k.fingerprint}); its locks check card credentials`]);
    expect(s.lines.join('\n')).not.toContain(Buffer.from(k.key).toString('hex'));
  });

  it('gives it at connect to a hub that holds another key, and leaves a hub that holds this one alone', async () => {
    const s = keyed();
    const k = s.keys().currentOrCreate();
    const stale = new FakeHub();
    stale.siteKey = { generation: 1, site_id: k.site_id, fingerprint: siteKeyFingerprint(generateSiteKey()) };
    s.manager.attach(stale);
    await vi.waitFor(() => expect(stale.siteKey?.fingerprint).toBe(k.fingerprint));
    stale.unplug();

    const current = new FakeHub();
    current.siteKey = { generation: 1, site_id: k.site_id, fingerprint: k.fingerprint };
    s.manager.attach(current);
    await s.ready();
    await new Promise((r) => setTimeout(r, 100));
    expect(current.siteKeySets).toBe(0);
  });

  it('tries again after a hub failed to take it', async () => {
    const s = keyed();
    const k = s.keys().currentOrCreate();
    const hub = new FakeHub();
    hub.failNextSiteKey = true;
    s.manager.attach(hub);
    await vi.waitFor(() => expect(hub.siteKey?.fingerprint).toBe(k.fingerprint));
    expect(hub.siteKeySets).toBe(2);
    expect(s.lines.join('\n')).toContain('flash write failed');
  });

  it('follows an imported key to the connected hub', async () => {
    const s = keyed();
    s.keys().currentOrCreate();
    const hub = new FakeHub();
    s.manager.attach(hub);
    await vi.waitFor(() => expect(hub.siteKey?.generation).toBe(1));
    const restored = generateSiteKey();
    const text = exportSiteKey(restored, s.keys().current()!.site_id, 'correct horse battery', { N: 1024, r: 8, p: 1 });
    s.svc.db.transaction((w) => s.keys().import(w, text, 'correct horse battery'));
    await vi.waitFor(() => expect(hub.siteKey).toMatchObject({ generation: 2, fingerprint: siteKeyFingerprint(restored) }));
  });

  it('without the master key, or with a key it cannot open, gives hubs nothing, and says why once', async () => {
    const s = keyed();
    s.keys().currentOrCreate();
    s.svc.secrets = null;
    const hub = new FakeHub();
    s.manager.attach(hub);
    await s.ready();
    await new Promise((r) => setTimeout(r, 100));
    expect(hub.siteKeySets).toBe(0);
    hub.unplug();

    // A database restored on another computer: its master key is not this one.
    s.svc.secrets = new SecretBox(new Uint8Array(randomBytes(32)));
    s.manager.attach(hub);
    await s.ready();
    await new Promise((r) => setTimeout(r, 200));
    expect(hub.siteKeySets).toBe(0);
    const errors = s.lines.filter((l) => l.startsWith('[error]'));
    expect(errors).toEqual([expect.stringMatching(/^\[error\] hub sim:test: it cannot be given the site's card key: The site's card key \(generation 1, .*cannot be opened/)]);
  });
});
