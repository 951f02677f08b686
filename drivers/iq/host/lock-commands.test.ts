// The lock commands the device manager drives: pairing and listing, remote opening and office mode
// (repeated identically while the hub answers busy, carried out once per confirmation reference),
// tag registration, unpairing, and the errors an installer or operator sees.
import { describe, expect, it } from 'vitest';
import { IqHubError } from './errors.ts';
import { rig } from './testing/rig.ts';

const REF = Uint8Array.from({ length: 16 }, (_, i) => i);
const REF2 = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 | i);

async function failure(p: Promise<unknown>): Promise<IqHubError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof IqHubError)) throw new Error(`expected an IqHubError, got ${String(e)}`);
  return e;
}

describe('pairing', () => {
  it('pairs, lists across pages, pairs again harmlessly, and refuses an address taken by another lock id', async () => {
    const t = rig();
    const { client } = await t.connect();
    const paired = await t.run(client.pairLock({ address: '00:1B:C5:0C:60:AA', serial: '', lock_id: 'door-1' }));
    expect(paired).toEqual({ lock_index: 1, lock_id: 'door-1', address: '00-1B-C5-0C-60-AA', serial: '', already_paired: false });
    expect((await t.run(client.pairLock({ address: '00-1B-C5-0C-60-AA', serial: '', lock_id: 'door-1' }))).already_paired).toBe(true);
    for (const id of ['door-2', 'door-3', 'door-4', 'door-5']) t.hub.pair(id);
    expect((await t.run(client.listLocks())).map((l) => [l.lock_index, l.lock_id])).toEqual([
      [1, 'door-1'],
      [2, 'door-2'],
      [3, 'door-3'],
      [4, 'door-4'],
      [5, 'door-5'],
    ]);
    const e = await failure(t.run(client.pairLock({ address: '001BC50C60AA', serial: '', lock_id: 'door-9' })));
    expect(e.code).toBe('refused');
    expect(e.details).toMatchObject({ hubError: 'already_paired', value: 1 });
    expect(e.message).toBe('PAIR_LOCK: that radio address is already paired with this hub under another lock id (lock index 1)');
    expect((await failure(client.pairLock({ address: 'not an address', serial: '', lock_id: 'x' }))).code).toBe('invalid_input');
    await client.close();
  });

  it('unpairs; a lock already gone is done; a lock with unacknowledged events is refused until they are fetched', async () => {
    const t = rig();
    t.hub.pair('door-1');
    t.hub.pair('door-2');
    const { client } = await t.connect();
    t.hub.record({ kind: 'entry', lock_index: 2 });
    const e = await failure(t.run(client.unpairLock('door-2')));
    expect(e.details).toMatchObject({ hubError: 'unacked_events', value: 1 });
    expect(e.message).toMatch(/fetch and acknowledge them first \(up to event 1\)/);
    const batch = await t.run(client.fetchEvents(10));
    await t.run(client.ackEvents(batch.last_id!));
    await t.run(client.unpairLock('door-2'));
    await t.run(client.unpairLock('door-2'));
    expect(t.hub.locks.map((l) => l.lock_id)).toEqual(['door-1']);
    await client.close();
  });
});

describe('lock commands', () => {
  it('opens once, repeating the identical command while the hub answers busy', async () => {
    const t = rig();
    t.hub.pair('door-1');
    const { client } = await t.connect();
    t.hub.busy.set('remote_open', 3);
    const r = await t.run(client.remoteOpen('door-1', 'anna', REF));
    expect(r).toEqual({ lock_id: 'door-1', replayed: false, lock_state: 'locked', office_mode: 'none' });
    const sent = t.hub.payloads.get('remote_open')!;
    expect(sent).toHaveLength(4);
    expect(sent.every((p) => Buffer.from(p).equals(Buffer.from(sent[0]!)))).toBe(true);
    expect(t.hub.carriedOut).toEqual([{ type: 'remote_open', lock_index: 1 }]);

    // The same operator action again (a lost reply, a reconnect): the hub does nothing twice.
    expect((await t.run(client.remoteOpen('door-1', 'anna', REF))).replayed).toBe(true);
    expect(t.hub.carriedOut).toHaveLength(1);
    await client.close();
  });

  it('gives up on a hub that stays busy, and says so', async () => {
    const t = rig();
    t.hub.pair('door-1');
    const { client } = await t.connect({ busyTimeoutMs: 5000 });
    t.hub.busy.set('remote_open', 1000);
    const e = await failure(t.run(client.remoteOpen('door-1', 'anna', REF)));
    expect(e.code).toBe('busy');
    expect(e.message).toBe('REMOTE_OPEN: the hub stayed busy for 5 s');
    expect(t.hub.carriedOut).toEqual([]);
    await client.close();
  });

  it('sets manual office mode on and off', async () => {
    const t = rig();
    t.hub.pair('door-1');
    const { client } = await t.connect();
    expect((await t.run(client.setManualOfficeMode('door-1', true, 'anna', REF))).office_mode).toBe('manual_office_mode');
    expect((await t.run(client.setManualOfficeMode('door-1', false, 'anna', REF2))).office_mode).toBe('none');
    expect(t.hub.carriedOut.map((c) => c.type)).toEqual(['manual_office_mode', 'manual_office_mode']);
    await client.close();
  });

  it('starts tag registration, and refuses a timeout the protocol does not allow', async () => {
    const t = rig();
    t.hub.pair('door-1');
    const { client } = await t.connect();
    expect(await t.run(client.startTagRegistration('door-1', 60))).toEqual({ lock_id: 'door-1', remaining_s: 60 });
    const e = await failure(t.run(client.startTagRegistration('door-1', 5)));
    expect(e.code).toBe('invalid_input');
    expect(e.message).toMatch(/^TAG_REGISTRATION: .*timeout_s must be 0 \(stop\) or 15\.\.3600/);
    await client.close();
  });

  it('reads the lock list again when the hub no longer has a lock where we thought', async () => {
    const t = rig();
    t.hub.pair('door-1');
    const { client } = await t.connect();
    await t.run(client.remoteOpen('door-1', 'anna', REF));
    // Re-paired behind our back under a new index.
    t.hub.locks = [];
    t.hub.pair('door-1');
    await t.run(client.remoteOpen('door-1', 'anna', REF2));
    expect(t.hub.carriedOut).toEqual([
      { type: 'remote_open', lock_index: 1 },
      { type: 'remote_open', lock_index: 2 },
    ]);
    t.hub.locks = [];
    const e = await failure(t.run(client.remoteOpen('door-1', 'anna', Uint8Array.from(REF2).reverse())));
    expect(e.code).toBe('unknown_lock');
    expect(e.message).toBe('lock door-1 is not paired with this hub');
    await client.close();
  });

  it('refuses a confirmation reference that is not 16 bytes before sending anything', async () => {
    const t = rig();
    t.hub.pair('door-1');
    const { client } = await t.connect();
    const e = await failure(t.run(client.remoteOpen('door-1', 'anna', new Uint8Array(8))));
    expect(e.code).toBe('invalid_input');
    expect(t.hub.payloads.has('remote_open')).toBe(false);
    await client.close();
  });
});

describe('factory reset', () => {
  it('wipes the hub with a fresh nonce and its serial', async () => {
    const t = rig();
    t.hub.pair('door-1');
    const { client } = await t.connect();
    await t.run(client.factoryReset());
    expect(t.hub.seen.filter((s) => s !== 'poll').slice(-3)).toEqual(['get_status', 'reset_challenge', 'factory_reset']);
    expect(t.hub.locks).toEqual([]);
    expect(await t.run(client.listLocks())).toEqual([]);
    await client.close();
  });
});
