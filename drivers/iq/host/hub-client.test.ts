// The client against a small hub over an in-memory line: connecting (secure channel, right and wrong
// keys, install mode and KEYSET), identify and setClock, EVENTS_PENDING from polling, and how the client
// ends (stream closed, hub silent for good, closed by us): onClose exactly once.
import { describe, expect, it } from 'vitest';
import { IqHubError } from './errors.ts';
import { IqHubClient } from './hub-client.ts';
import { KEY, OTHER_KEY, rig, T0 } from './testing/rig.ts';

const MIN = 60_000;

async function failure(p: Promise<unknown>): Promise<IqHubError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof IqHubError)) throw new Error(`expected an IqHubError, got ${String(e)}`);
  return e;
}

describe('identify and setClock', () => {
  it('identifies the hub from GET_STATUS, signal in bars', async () => {
    const t = rig({ hub: { signalDbm: -67 } });
    const { client } = await t.connect();
    expect(await t.run(client.identify())).toEqual({ mac: '02-00-5E-10-00-01', serial: 'IQ-0042', firmware: '1.4.2', table: null, signal_strength: 4 });
    t.hub.signalDbm = null;
    expect((await t.run(client.identify())).signal_strength).toBeNull();
    await client.close();
  });

  it('sets the clock with the zone, its transitions in seconds and a window that covers them', async () => {
    const t = rig();
    const { client } = await t.connect();
    const spring = Date.parse('2026-03-29T01:00:00Z');
    const autumn = Date.parse('2026-10-25T01:00:00Z');
    await t.run(
      client.setClock({
        utc_ms: T0,
        zone: 'Europe/Amsterdam',
        initial_offset_min: 60,
        transitions: [
          { at_ms: spring, offset_min: 120 },
          { at_ms: autumn, offset_min: 60 },
        ],
      }),
    );
    const c = t.hub.clock!;
    expect(c.utc_ms).toBe(T0);
    expect(c.zone).toBe('Europe/Amsterdam');
    expect(c.transitions).toEqual([
      { instant_s: spring / 1000, offset_min: 120 },
      { instant_s: autumn / 1000, offset_min: 60 },
    ]);
    expect(c.valid_from_ms).toBeLessThanOrEqual(T0);
    expect(c.valid_until_ms).toBeGreaterThan(autumn);
    await client.close();
  });
});

describe('secure channel', () => {
  it('runs every command under the provisioned key, and polling keeps the session alive', async () => {
    const t = rig();
    const { client, line } = await t.connect();
    await t.clock.advance(30_000);
    await t.run(client.identify());
    expect(line.pd.secureChannelActive).toBe(true);
    // An idle gap beyond the hub's 8 s session timeout would have cost a refused command and a new handshake.
    expect(line.pd.stats.securityNaks).toBe(0);
    expect(t.hub.seen.filter((s) => s === 'poll').length).toBeGreaterThanOrEqual(25);
    await client.close();
  });

  it('refuses to connect with a wrong key, and says so', async () => {
    const t = rig();
    const e = await failure(t.connect({ secureChannel: { scbk: OTHER_KEY } }));
    expect(e.code).toBe('secure_channel');
    expect(e.details.osdp).toBe('key_mismatch');
    expect(e.message).toMatch(/secure-channel key is wrong/);
    expect(t.hub.seen).toEqual([]);
  });

  it('says a hub without a secure channel is refused, not broken', async () => {
    const t = rig({ hubKey: null });
    const { client } = await t.connect({ secureChannel: undefined });
    const e = await failure(t.run(client.identify()));
    expect(e.code).toBe('link');
    expect(e.message).toMatch(/requires a secure channel/);
    await client.close();
  });

  it('provisions a hub in install mode with setKey; afterwards only the new key opens it', async () => {
    const t = rig({ hubKey: null });
    const { client } = await t.connect({ secureChannel: { installMode: true } });
    await t.run(client.setKey(KEY));
    expect(t.hub.scbk).toEqual(KEY);
    expect((await t.run(client.identify())).serial).toBe('IQ-0042');
    await client.close();

    const again = await t.connect();
    expect((await t.run(again.client.identify())).serial).toBe('IQ-0042');
    await again.client.close();
    const e = await failure(t.connect({ secureChannel: { installMode: true } }));
    expect(e.details.osdp).toBe('install_mode_refused');
  });

  it('refuses a device that is not a Gatehouse hub', async () => {
    const t = rig();
    const handle = t.hub.handle.bind(t.hub);
    t.hub.handle = (cmd) => (cmd.code === 0x61 ? { code: 0x45, data: Uint8Array.of(0x00, 0x0a, 0x3b, 1, 1, 0, 0, 0, 0, 1, 0, 0) } : handle(cmd));
    const e = await failure(t.connect());
    expect(e.code).toBe('not_a_hub');
    expect(e.message).toMatch(/vendor code 00-0A-3B/);
  });
});

describe('events pending', () => {
  it('calls the listeners when a poll is answered EVENTS_PENDING, once per new event', async () => {
    const t = rig();
    t.hub.pair('lock-1');
    const { client } = await t.connect({ pollIntervalMs: 1000 });
    let calls = 0;
    const off = client.onEventsPending(() => calls++);
    await t.clock.advance(5000);
    expect(calls).toBe(0);

    t.hub.record({ kind: 'entry', lock_index: 1 });
    await t.clock.advance(1500);
    expect(calls).toBe(1);
    await t.clock.advance(5000);
    expect(calls).toBe(1);

    t.hub.record({ kind: 'incident', lock_index: 1, incident_type: 'tamper' });
    await t.clock.advance(1500);
    expect(calls).toBe(2);

    off();
    t.hub.record({ kind: 'entry', lock_index: 1 });
    await t.clock.advance(1500);
    expect(calls).toBe(2);
    await client.close();
  });
});

describe('the end of a link', () => {
  it('reports a closed stream once, and fails what was in flight and everything after', async () => {
    const t = rig();
    const { client, line } = await t.connect();
    const reasons: string[] = [];
    client.onClose((r) => reasons.push(r));
    t.hub.busy.set('get_status', 100);
    const pending = client.identify();
    await t.clock.advance(500);
    line.cut('the hub closed the connection');
    const e = await failure(t.run(pending));
    expect(e.code).toBe('closed');
    expect(e.message).toMatch(/the hub closed the connection/);
    line.stream.closeRemote('again');
    await t.clock.advance(MIN);
    expect(reasons).toEqual(['the hub closed the connection']);
    expect((await failure(client.identify())).code).toBe('closed');
    const late: string[] = [];
    client.onClose((r) => late.push(r));
    await t.clock.advance(0);
    expect(late).toEqual(['the hub closed the connection']);
  });

  it('gives up on a hub that stays silent, once, and closes its stream', async () => {
    const t = rig();
    const { client, line } = await t.connect({ giveUpAfterMs: 30_000 });
    const reasons: string[] = [];
    client.onClose((r) => reasons.push(r));
    line.pd.stop();
    await t.clock.advance(20_000);
    expect(reasons).toEqual([]);
    await t.clock.advance(30_000);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/has not answered for 30 s/);
    expect(line.stream.closed).toBe(true);
    await t.clock.advance(5 * MIN);
    expect(reasons).toHaveLength(1);
  });

  it('rides out a short outage without ending', async () => {
    const t = rig();
    const { client, line } = await t.connect({ giveUpAfterMs: 30_000 });
    const reasons: string[] = [];
    client.onClose((r) => reasons.push(r));
    line.pd.stop();
    await t.clock.advance(5000);
    line.pd.start();
    await t.clock.advance(MIN);
    expect(reasons).toEqual([]);
    expect((await t.run(client.identify())).serial).toBe('IQ-0042');
    await client.close();
    expect(reasons).toEqual(['closed by Gatehouse']);
    expect(line.stream.closed).toBe(true);
  });

  it('reads the event ring and the lock list again after a reconnect: the hub may have rebooted', async () => {
    const t = rig();
    t.hub.pair('door-1');
    const { client, line } = await t.connect();
    t.hub.record({ kind: 'entry', lock_index: 1 });
    await t.run(client.fetchEvents(10));
    await t.run(client.fetchEvents(10));
    expect(t.hub.seen.filter((s) => s === 'get_status' || s === 'list_locks')).toEqual(['get_status', 'list_locks']);
    line.pd.stop();
    await t.clock.advance(5000);
    line.pd.start();
    await t.clock.advance(MIN);
    t.hub.seen.length = 0;
    await t.run(client.fetchEvents(10));
    expect(t.hub.seen.filter((s) => s !== 'poll')).toEqual(['get_status', 'fetch_events', 'list_locks']);
    await client.close();
  });

  it('connect() fails when the stream closes before the hub answered', async () => {
    const t = rig();
    const line = t.plug();
    line.pd.stop();
    const connecting = IqHubClient.connect({ link: line.stream, address: 'test:hub', secureChannel: { scbk: KEY }, clock: t.clock });
    await t.clock.advance(300);
    line.stream.closeRemote('unplugged');
    const e = await failure(t.run(connecting));
    expect(e.code).toBe('closed');
    expect(e.message).toMatch(/unplugged/);
  });
});
