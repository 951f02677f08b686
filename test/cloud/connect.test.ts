// Connecting a running Gatehouse to the (mock) KS cloud the way an admin does, through the contract:
// password and browser sign-in, tokens sealed at rest, sync now, a seat-less user flagged, a lock that
// needs the IQ's one-time code, cloud entries merged with the hubs' into one trail, and a restart.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ksConnector } from '../../bin/cloud.ts';
import { startHost, type RunningHost } from '../../core/host/host.ts';
import { givenMasterKey } from '../../core/secrets/master-key.ts';
import { systemActor } from '../../core/service/actor.ts';
import { startKsCloud, type KsCloud } from '../ks-cloud/server.ts';
import { adminAddEntries } from '../ks-cloud/store.ts';
import { until } from '../until.ts';
import { FAST_RETRY } from './fixture.ts';

const owner = systemActor('owner');
const dirs: string[] = [];
let cloud: KsCloud | undefined;
let host: RunningHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
  await cloud?.close();
  cloud = undefined;
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string, key: Uint8Array, cloudIntervalMs = 0): Promise<RunningHost> {
  return startHost({
    dataDir,
    port: 0,
    host: '127.0.0.1',
    demo: false,
    ownerPassword: 'correct horse battery',
    version: 'test',
    log: () => {},
    masterKey: givenMasterKey(key, 'the test key'),
    cloud: ksConnector({ retry: FAST_RETRY }),
    cloudIntervalMs,
  });
}

const account = (c: KsCloud) => ({ api_url: c.url, client_id: c.auth.clientId, client_secret: c.auth.clientSecret, site_id: c.siteId });
const run = <T>(h: RunningHost, name: string, input: unknown = {}): Promise<T> => Promise.resolve().then(() => h.service.call(owner, name, input) as T);

describe('connecting to the cloud', () => {
  it('signs in, syncs, keeps the tokens sealed, flags a seat-less user, waits for the OTP, merges entries, and survives a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gh-cloud-'));
    dirs.push(dataDir);
    const key = new Uint8Array(randomBytes(32));
    cloud = await startKsCloud({ seats: 3 });
    host = await start(dataDir, key);
    const svc = () => host!.service;
    for (const n of ['Ada', 'Grace']) svc().run(owner, 'users.create', { first_name: n, last_name: 'Here', email: `${n.toLowerCase()}@here.example` });

    await expect(run(host, 'cloud.connect', { ...account(cloud), site_id: 'DE4520168385', username: 'x', password: 'y' })).rejects.toMatchObject({ code: 'validation' });
    await expect(run(host, 'cloud.connect', { ...account(cloud), username: cloud.auth.username, password: 'wrong' })).rejects.toThrow(/refused the sign-in/);
    const connected = await run<{ connected: boolean; signed_in: boolean; pending_changes: number }>(host, 'cloud.connect', { ...account(cloud), username: cloud.auth.username, password: cloud.auth.password });
    expect(connected).toMatchObject({ connected: true, signed_in: true, pending_changes: 2 });

    // Tokens are sealed: nothing of them is readable in the database file.
    const raw = readFileSync(join(dataDir, 'gatehouse.db'));
    expect(raw.includes('accessToken')).toBe(false);
    expect(raw.includes('refreshToken')).toBe(false);

    let report = await run<{ complete: boolean; pushed: { done: number } }>(host, 'cloud.sync_now');
    expect(report).toMatchObject({ complete: true, pushed: { done: 2 } });
    expect([...cloud.site.users.values()].map((u) => u.user.email).sort()).toEqual(['ada@here.example', 'grace@here.example']);

    // Seats: 3. The fourth person is created in the cloud as suspended, and the admin is told.
    svc().run(owner, 'users.create', { first_name: 'Hedy', last_name: 'Here', email: 'hedy@here.example' });
    svc().run(owner, 'users.create', { first_name: 'Katherine', last_name: 'Here', email: 'katherine@here.example' });
    await run(host, 'cloud.sync_now');
    const status = svc().run(owner, 'cloud.status', {});
    expect(status.suspended_users.map((u) => u.name)).toEqual(['Katherine Here']);

    // A lock is a hardware change: without the IQ secret and PIN it is refused, and waits.
    const iq = svc().run(owner, 'iqs.create', { mac: '00:11:22:33:44:55', customer_reference: 'Main IQ' });
    const lock = svc().run(owner, 'locks.create', { customer_reference: 'Front door', iq_id: iq.id });
    await run(host, 'cloud.sync_now');
    const failed = svc().run(owner, 'cloud.failed.list', {});
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ kind: 'lock', label: 'Front door', operation: 'create' });
    expect(failed[0]!.error).toMatch(/one-time code/);
    await run(host, 'cloud.set_otp', { secret: cloud.site.otpSecret, pin: cloud.site.otpPin });
    await expect(run(host, 'cloud.failed.retry')).resolves.toEqual({ requeued: 1 });
    await run(host, 'cloud.sync_now');
    const cloudLock = [...cloud.site.locks.values()].find((l) => l.customer_reference === 'Front door');
    expect(cloudLock).toBeDefined();
    expect(svc().run(owner, 'cloud.status', {})).toMatchObject({ pending_changes: 0, failed_changes: 0, otp_configured: true });

    // One opening heard from the hub and from the cloud is one entry; the cloud's other one is added.
    const at = new Date(Date.now() - 60_000);
    svc().run(owner, 'entries.ingest', {
      source: 'hub-test',
      entries: [{ event_id: 'e1', time: at.toISOString(), event_category: 'lock_opened', event_detail: null, access_by: 'tag', lock_id: lock.id, iq_id: null, tag_number: null, user_id: null }],
    });
    adminAddEntries(cloud.site, 2, at, cloudLock!.id);
    report = await run(host, 'cloud.sync_now');
    expect(report).toMatchObject({ entries: { stored: 1, merged_with_hub: 1 } });
    expect(svc().run(owner, 'entries.list', { lock_id: lock.id }).items).toHaveLength(2);
    // Alarms the same way: the intrusion the hub reported is not doubled, the cloud's tamper is added.
    svc().run(owner, 'entries.ingest', { source: 'hub-test', incidents: [{ event_id: 'i1', time: at.toISOString(), incident_type: 'intrusion', lock_id: lock.id, iq_id: null }] });
    for (const [id, type, offset] of [['ci1', 'intrusion', 0], ['ci2', 'tamper', 5_000], ['ci3', 'something_new', 6_000]] as const) {
      cloud.site.incidents.push({ id, utc_date_time: new Date(at.getTime() + offset).toISOString(), event_category: type, lock_id: cloudLock!.id, user_id: null });
    }
    report = await run(host, 'cloud.sync_now');
    expect(report).toMatchObject({ incidents: { stored: 1, merged_with_hub: 1, skipped: 1 } });
    expect(svc().run(owner, 'incidents.list', { lock_id: lock.id }).items.map((i) => i.incident_type).sort()).toEqual(['intrusion', 'tamper']);
    // Read again next round (the overlap): nothing doubles.
    report = await run(host, 'cloud.sync_now');
    expect(report).toMatchObject({ entries: { stored: 0 }, incidents: { stored: 0 } });
    expect(svc().run(owner, 'entries.list', { lock_id: lock.id }).items).toHaveLength(2);

    // A restart with the same master key carries on; another key cannot open the tokens.
    await host.close();
    host = await start(dataDir, key);
    expect(host.service.run(owner, 'cloud.status', {})).toMatchObject({ connected: true, signed_in: true });
    await expect(run(host, 'cloud.sync_now')).resolves.toMatchObject({ complete: true, error: null });
    await host.close();
    host = await start(dataDir, new Uint8Array(randomBytes(32)));
    await expect(run(host, 'cloud.sync_now')).rejects.toThrow(/another master key/);
  }, 60_000);

  it('signs in through the browser (code + PKCE, loopback redirect), and disconnecting keeps what was linked', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gh-cloud-'));
    dirs.push(dataDir);
    cloud = await startKsCloud({ auth: { clientSecret: undefined } });
    host = await start(dataDir, new Uint8Array(randomBytes(32)));
    host.service.run(owner, 'users.create', { first_name: 'Ada', last_name: 'Here', email: 'ada@here.example' });
    const events: Array<{ connected: boolean }> = [];
    host.service.on('cloud.status', (s) => events.push(s));

    const { authorize_url } = await run<{ authorize_url: string }>(host, 'cloud.connect_browser', { api_url: cloud.url, client_id: cloud.auth.clientId, site_id: cloud.siteId });
    const url = new URL(authorize_url);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(host.service.run(owner, 'cloud.status', {})).toMatchObject({ signing_in: true, connected: false });
    // The browser: the cloud approves and redirects to the loopback listener.
    const landing = await fetch(authorize_url);
    expect(await landing.text()).toMatch(/Signed in/);
    await until('connected after the redirect', () => events.some((e) => e.connected));
    expect(cloud.identity.grants).toContain('authorization_code');
    await until('the first round', () => cloud!.site.users.size === 1, 10_000);

    const off = await run<{ connected: boolean; signed_in: boolean }>(host, 'cloud.disconnect');
    expect(off).toMatchObject({ connected: false, signed_in: false, account: null });
    await expect(run(host, 'cloud.sync_now')).rejects.toThrow(/not connected/);
    // Changes made while disconnected are sent after connecting again, and nothing is created twice.
    host.service.run(owner, 'users.create', { first_name: 'Grace', last_name: 'Here', email: 'grace@here.example' });
    await run(host, 'cloud.connect', { ...account(cloud), client_secret: undefined, username: cloud.auth.username, password: cloud.auth.password });
    await run(host, 'cloud.sync_now');
    expect([...cloud.site.users.values()].map((u) => u.user.email).sort()).toEqual(['ada@here.example', 'grace@here.example']);
  }, 60_000);

  it('sends a change made here within seconds while connected, and shows it waiting meanwhile', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gh-cloud-'));
    dirs.push(dataDir);
    cloud = await startKsCloud();
    host = await start(dataDir, new Uint8Array(randomBytes(32)), 10 * 60_000);
    await run(host, 'cloud.connect', { ...account(cloud), username: cloud.auth.username, password: cloud.auth.password });
    await until('the first round after connecting', () => host!.service.run(owner, 'cloud.status', {}).last_push_at !== null && !host!.service.run(owner, 'cloud.status', {}).syncing, 5_000);
    const waiting: number[] = [];
    host.service.on('cloud.status', (s) => waiting.push(s.pending_changes));
    host.service.run(owner, 'users.create', { first_name: 'Ada', last_name: 'Here', email: 'ada@here.example' });
    await until('the status shows the change waiting', () => waiting.includes(1), 2_000);
    // The next scheduled round is ten minutes away; the change does not wait for it.
    await until('the person in the cloud', () => [...cloud!.site.users.values()].some((u) => u.user.email === 'ada@here.example'), 10_000);
    await until('nothing left waiting', () => host!.service.run(owner, 'cloud.status', {}).pending_changes === 0, 2_000);
  }, 30_000);
});
