// The cloud port over the KS Connect client, against the mock KS cloud: what is pushed comes back from
// list() as the same fields in cloud ids, and failures reach the engine as CloudPortErrors.
import { afterEach, describe, expect, it } from 'vitest';
import type { CloudRecord } from '../core/cloud/apply.ts';
import { CloudPortError, type CloudPush } from '../core/cloud/port.ts';
import type { CloudKind, Json } from '../core/domain/cloud.ts';
import { computeOtp } from '../drivers/ks-connect/index.ts';
import { startKsCloud, type KsCloud, type KsCloudOptions } from '../test/ks-cloud/server.ts';
import { adminAddEntries, adminAddUser, adminDeleteUser } from '../test/ks-cloud/store.ts';
import { ksCloudPort } from './cloud-port.ts';
import { signedInClient } from '../test/ks-cloud/signed-in.ts';

let cloud: KsCloud | undefined;
afterEach(async () => {
  await cloud?.close();
  cloud = undefined;
});

const T0 = Date.parse('2026-03-02T08:00:00Z');

async function connect(opts: KsCloudOptions = {}) {
  const clock = { now: T0 };
  cloud = await startKsCloud({ ...opts, now: () => clock.now });
  const { client } = await signedInClient(cloud, { retry: { sleep: async (ms) => void (clock.now += ms), random: () => 0.5, maxAttempts: 3 } });
  // The admin's IQ PIN as entered in Gatehouse (null: none yet); the mock's is '1234'.
  const otp = { pin: '1234' as string | null };
  const site = cloud.site;
  const port = ksCloudPort(client, { otp: () => (otp.pin === null ? null : computeOtp(site.otpSecret, otp.pin, new Date(clock.now))), now: () => clock.now });
  return { cloud, clock, client, port, otp };
}

type Port = Awaited<ReturnType<typeof connect>>['port'];

async function list(port: Port, kind: CloudKind): Promise<CloudRecord[]> {
  const out: CloudRecord[] = [];
  for await (const r of port.list(kind)) out.push(r);
  return out;
}

const push = (kind: CloudKind, operation: CloudPush['operation'], fields: Record<string, Json> | null, more: Partial<CloudPush> = {}): CloudPush => ({
  kind,
  operation,
  cloud_id: null,
  cloud_user_id: null,
  fields,
  retry: false,
  ...more,
});

async function refusal(p: Promise<unknown>): Promise<[string, string]> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CloudPortError);
  return [(e as CloudPortError).kind, (e as CloudPortError).message];
}

const NINE_TO_FIVE = {
  monday: true,
  tuesday: true,
  wednesday: true,
  thursday: true,
  friday: true,
  saturday: false,
  sunday: false,
  holiday: false,
  special_1: false,
  special_2: false,
  start_time: '09:00:00',
  end_time: '17:00:00',
  start_date: null,
  end_date: null,
};
const WEEKENDS = { ...NINE_TO_FIVE, monday: false, tuesday: false, wednesday: false, thursday: false, friday: false, saturday: true, sunday: true, holiday: true, start_date: '2026-01-01', end_date: '2026-12-31' };
const iso = (ms: number) => new Date(ms).toISOString();

describe('every kind round-trips', () => {
  it('IQ and lock: create, list, update, delete (the lock with its EOM schedule, hardware changes with the OTP)', async () => {
    const { port, clock } = await connect();
    const iqFields = { mac: '00:11:22:33:44:55', customer_reference: 'Hall', time_zone: 'Europe/Berlin' };
    const iq = await port.push(push('iq', 'create', iqFields));
    const iq2 = await port.push(push('iq', 'create', { mac: '00:11:22:33:44:66', customer_reference: 'Annex', time_zone: 'UTC' }));
    expect((await list(port, 'iq'))[0]).toEqual({ kind: 'iq', cloud_id: iq.cloud_id, fields: iqFields, updated_at: iso(T0) });

    const eom = { ...NINE_TO_FIVE, eom_auto_start: true };
    const lockFields = { customer_reference: 'Front door', iq_id: iq.cloud_id, easy_office_mode_schedule: eom };
    const lock = await port.push(push('lock', 'create', lockFields));
    expect(await list(port, 'lock')).toEqual([{ kind: 'lock', cloud_id: lock.cloud_id, fields: lockFields, updated_at: iso(T0) }]);

    clock.now += 1000;
    await port.push(push('iq', 'update', { customer_reference: 'Main hall' }, { cloud_id: iq.cloud_id }));
    await port.push(push('lock', 'update', { customer_reference: 'Main door', iq_id: iq2.cloud_id, easy_office_mode_schedule: null }, { cloud_id: lock.cloud_id }));
    expect((await list(port, 'iq'))[0]!.fields).toEqual({ ...iqFields, customer_reference: 'Main hall' });
    expect(await list(port, 'lock')).toEqual([{ kind: 'lock', cloud_id: lock.cloud_id, fields: { customer_reference: 'Main door', iq_id: iq2.cloud_id }, updated_at: iso(T0 + 1000) }]);
    await port.push(push('lock', 'update', { iq_id: null }, { cloud_id: lock.cloud_id }));
    expect((await list(port, 'lock'))[0]!.fields).toEqual({ customer_reference: 'Main door' });

    await port.push(push('lock', 'delete', null, { cloud_id: lock.cloud_id }));
    await port.push(push('iq', 'delete', null, { cloud_id: iq.cloud_id }));
    expect(await list(port, 'lock')).toEqual([]);
    expect((await list(port, 'iq')).map((r) => r.cloud_id)).toEqual([iq2.cloud_id]);
    // Already gone: done.
    await port.push(push('lock', 'delete', null, { cloud_id: lock.cloud_id }));
    await port.push(push('iq', 'delete', null, { cloud_id: iq.cloud_id }));
  });

  it('user and tag: create, list in cloud ids, update (null clears), delete', async () => {
    const { port, clock } = await connect();
    const adaFields = {
      first_name: 'Ada',
      last_name: 'Lovelace',
      email: 'ada@example.com',
      alias: 'ada',
      phone: '+49 30 1234',
      blocked: false,
      valid_from: '2026-01-01T00:00:00.000Z',
      valid_until: '2026-12-31T23:59:59.000Z',
      remote_access: true,
      toggle_easy_office_mode: true,
      toggle_manual_office_mode: false,
      override_privacy_mode: false,
    };
    const ada = await port.push(push('user', 'create', adaFields));
    expect(ada.suspended).toBe(false);
    expect(await list(port, 'user')).toEqual([{ kind: 'user', cloud_id: ada.cloud_id, cloud_user_id: ada.cloud_user_id, fields: adaFields, updated_at: iso(T0) }]);

    const tagFields = { tag_number: '0000007527', kind: 'fob', user_id: ada.cloud_id, blocked: false, lost_or_stolen: false };
    const tag = await port.push(push('tag', 'create', tagFields));
    expect(await list(port, 'tag')).toEqual([{ kind: 'tag', cloud_id: tag.cloud_id, fields: tagFields, updated_at: iso(T0) }]);

    clock.now += 1000;
    const upd = await port.push(push('user', 'update', { valid_until: null, phone: null, email: 'ada@lovelace.org', blocked: true }, { cloud_id: ada.cloud_id, cloud_user_id: ada.cloud_user_id }));
    expect(upd).toEqual({ cloud_id: ada.cloud_id, cloud_user_id: ada.cloud_user_id, suspended: false });
    const { valid_until: _v, phone: _p, ...rest } = adaFields;
    expect((await list(port, 'user'))[0]).toMatchObject({ fields: { ...rest, email: 'ada@lovelace.org', blocked: true }, updated_at: iso(T0 + 1000) });
    await port.push(push('tag', 'update', { user_id: null, lost_or_stolen: true }, { cloud_id: tag.cloud_id }));
    expect((await list(port, 'tag'))[0]!.fields).toEqual({ tag_number: '0000007527', kind: 'fob', blocked: false, lost_or_stolen: true });

    await port.push(push('tag', 'delete', null, { cloud_id: tag.cloud_id }));
    await port.push(push('user', 'delete', null, { cloud_id: ada.cloud_id, cloud_user_id: ada.cloud_user_id }));
    expect([await list(port, 'tag'), await list(port, 'user')]).toEqual([[], []]);
    await port.push(push('tag', 'delete', null, { cloud_id: tag.cloud_id }));
    await port.push(push('user', 'delete', null, { cloud_id: ada.cloud_id }));
    expect(await refusal(port.push(push('user', 'update', { alias: 'x' }, { cloud_id: ada.cloud_id })))).toEqual(['not_found', `updating user ${ada.cloud_id}: the user is no longer in the cloud`]);
    expect((await refusal(port.push(push('tag', 'update', { blocked: true }, { cloud_id: tag.cloud_id }))))[0]).toBe('not_found');
  });

  it('a record the second admin changed is listed with its new updated_at; one without falls back to now', async () => {
    const { cloud, port, clock } = await connect();
    const u = adminAddUser(cloud.site, { alias: 'bob' }, T0 - 5000);
    expect((await list(port, 'user'))[0]).toMatchObject({ cloud_id: u.id, cloud_user_id: u.user.id, fields: { alias: 'bob', blocked: false }, updated_at: iso(T0 - 5000) });
    delete (u as { updated_at?: string }).updated_at;
    clock.now += 7000;
    expect((await list(port, 'user'))[0]!.updated_at).toBe(iso(T0 + 7000));
  });
});

describe('access groups', () => {
  it('a group with members, locks and two schedules; updated member by member; a new schedule adopted on retry', async () => {
    const { cloud, port } = await connect();
    const iq = await port.push(push('iq', 'create', { mac: '00:00:00:00:00:01', customer_reference: 'Hall', time_zone: 'UTC' }));
    const door = await port.push(push('lock', 'create', { customer_reference: 'Door', iq_id: iq.cloud_id }));
    const gate = await port.push(push('lock', 'create', { customer_reference: 'Gate', iq_id: iq.cloud_id }));
    const ada = await port.push(push('user', 'create', { email: 'ada@example.com' }));
    const bob = await port.push(push('user', 'create', { email: 'bob@example.com' }));

    const g = await port.push(
      push('access_group', 'create', {
        customer_reference: 'Staff',
        [`lock:${door.cloud_id}`]: true,
        [`user:${ada.cloud_user_id}`]: true,
        [`user:${bob.cloud_user_id}`]: true,
        'time_schedule:new:local-a': NINE_TO_FIVE,
        'time_schedule:new:local-b': WEEKENDS,
      }),
    );
    const a = g.created_schedules!['local-a']!;
    const b = g.created_schedules!['local-b']!;
    expect(new Set([a, b]).size).toBe(2);
    expect(await list(port, 'access_group')).toEqual([
      {
        kind: 'access_group',
        cloud_id: g.cloud_id,
        fields: {
          customer_reference: 'Staff',
          [`lock:${door.cloud_id}`]: true,
          [`user:${ada.cloud_user_id}`]: true,
          [`user:${bob.cloud_user_id}`]: true,
          [`time_schedule:${a}`]: NINE_TO_FIVE,
          [`time_schedule:${b}`]: WEEKENDS,
        },
        updated_at: iso(T0),
      },
    ]);

    // Rename, swap a lock, drop a member (and one already gone), edit one schedule, delete the other.
    adminDeleteUser(cloud.site, bob.cloud_id);
    await port.push(
      push(
        'access_group',
        'update',
        {
          customer_reference: 'All staff',
          [`lock:${door.cloud_id}`]: null,
          [`lock:${gate.cloud_id}`]: true,
          [`user:${ada.cloud_user_id}`]: null,
          [`user:${bob.cloud_user_id}`]: null,
          [`time_schedule:${a}`]: { ...NINE_TO_FIVE, saturday: true },
          [`time_schedule:${b}`]: null,
        },
        { cloud_id: g.cloud_id, linked_schedules: [a, b] },
      ),
    );
    expect((await list(port, 'access_group'))[0]!.fields).toEqual({ customer_reference: 'All staff', [`lock:${gate.cloud_id}`]: true, [`time_schedule:${a}`]: { ...NINE_TO_FIVE, saturday: true } });

    // A new schedule identical to the linked one; its answer is lost. The retry adopts the new one, not `a`.
    cloud.faults.add({ route: 'POST /access_groups/:id/time_schedules', fault: { kind: 'drop' }, times: 1 });
    const twin = { ...NINE_TO_FIVE, saturday: true };
    const change = push('access_group', 'update', { 'time_schedule:new:local-c': twin }, { cloud_id: g.cloud_id, linked_schedules: [a] });
    expect((await refusal(port.push(change)))[0]).toBe('transient');
    const r = await port.push({ ...change, retry: true });
    const c = r.created_schedules!['local-c']!;
    expect(c).not.toBe(a);
    expect([...cloud.site.schedules.get(g.cloud_id)!.keys()]).toEqual([a, c]);

    await port.push(push('access_group', 'delete', null, { cloud_id: g.cloud_id }));
    expect(await list(port, 'access_group')).toEqual([]);
    await port.push(push('access_group', 'delete', null, { cloud_id: g.cloud_id }));
    expect((await refusal(port.push(push('access_group', 'update', { customer_reference: 'x' }, { cloud_id: g.cloud_id }))))[0]).toBe('not_found');
  });

  it('adding a member the cloud does not have is refused', async () => {
    const { port } = await connect();
    const g = await port.push(push('access_group', 'create', { customer_reference: 'Staff' }));
    const nobody = '00000000-0000-0000-0000-000000000000';
    expect(await refusal(port.push(push('access_group', 'update', { [`user:${nobody}`]: true }, { cloud_id: g.cloud_id })))).toEqual([
      'refused',
      `adding user ${nobody} to access group ${g.cloud_id}: User not found`,
    ]);
  });
});

describe('lost answers, OTP, seats', () => {
  it('a create whose answer is dropped leaves one record', async () => {
    const { cloud, port } = await connect();
    cloud.faults.add({ route: 'POST /users', fault: { kind: 'drop' }, times: 1 });
    cloud.faults.add({ route: 'POST /tags', fault: { kind: 'drop' }, times: 1 });
    cloud.faults.add({ route: 'POST /access_groups', fault: { kind: 'drop' }, times: 1 });
    const u = await port.push(push('user', 'create', { email: 'ada@example.com', first_name: 'Ada' }));
    const t = await port.push(push('tag', 'create', { tag_number: '0000000001' }));
    const g = await port.push(push('access_group', 'create', { customer_reference: 'Staff' }));
    expect([...cloud.site.users.keys()]).toEqual([u.cloud_id]);
    expect([...cloud.site.tags.keys()]).toEqual([t.cloud_id]);
    expect([...cloud.site.accessGroups.keys()]).toEqual([g.cloud_id]);
    expect(cloud.log.filter((l) => l.method === 'POST').map((l) => l.status)).toEqual(['dropped', 'dropped', 'dropped']);
  });

  it('a lock create without the IQ code is refused before the cloud is asked; a wrong code is refused by the cloud', async () => {
    const { cloud, port, otp } = await connect();
    otp.pin = null;
    expect(await refusal(port.push(push('lock', 'create', { customer_reference: 'Door' })))).toEqual(['refused', 'adding lock Door: needs the IQ one-time code: enter the IQ PIN in Cloud sync settings']);
    expect(cloud.log).toEqual([]);
    otp.pin = '9999';
    expect(await refusal(port.push(push('lock', 'create', { customer_reference: 'Door' })))).toEqual(['refused', 'adding lock Door: Otp is invalid']);
    expect(cloud.site.locks.size).toBe(0);
  });

  it('a user created without a free seat is reported suspended', async () => {
    const { port } = await connect({ seats: 1 });
    expect((await port.push(push('user', 'create', { alias: 'one' }))).suspended).toBe(false);
    expect((await port.push(push('user', 'create', { alias: 'two' }))).suspended).toBe(true);
  });
});

describe('errors', () => {
  it('a bad value is refused with the cloud message and what was being done', async () => {
    const { port } = await connect();
    expect(await refusal(port.push(push('tag', 'create', { tag_number: '12' })))).toEqual(['refused', "creating tag 12: Invalid value of parameter 'tag_number'"]);
    const u = await port.push(push('user', 'create', { email: 'ada@example.com' }));
    expect(await refusal(port.push(push('user', 'update', { blocked: 'yes' }, { cloud_id: u.cloud_id })))).toEqual(['refused', `updating user ${u.cloud_id}: Invalid value of parameter 'blocked'`]);
  });

  it('5xx after the retries is transient; a token refused twice is auth', async () => {
    const { cloud, port } = await connect();
    cloud.faults.add({ route: 'GET /users', fault: { kind: 'error500' }, times: 3 });
    expect((await refusal(list(port, 'user')))[0]).toBe('transient');
    cloud.faults.add({ route: 'GET /iqs', fault: { kind: 'expire-token' }, times: 2 });
    expect(await refusal(list(port, 'iq'))).toEqual(['auth', 'reading iqs: Unauthorized']);
  });
});

describe('entries', () => {
  it('pages oldest first from `since`', async () => {
    const { cloud, port } = await connect();
    const from = new Date('2026-01-01T00:00:00Z');
    adminAddEntries(cloud.site, 1200, from, 'lock-1', 'user-1');
    const pages = [];
    for await (const page of port.entries(new Date(from.getTime() + 100_000).toISOString())) pages.push(page);
    expect(pages.map((p) => p.length)).toEqual([500, 500, 100]);
    const all = pages.flat();
    expect(all[0]).toEqual({ id: all[0]!.id, utc_date_time: '2026-01-01T00:01:40.000Z', event_category: 'lock_opened', event_detail: null, access_by: 'tag', lock_id: 'lock-1', user_id: 'user-1' });
    expect(all.map((e) => e.utc_date_time)).toEqual(Array.from({ length: 1100 }, (_, i) => new Date(from.getTime() + (100 + i) * 1000).toISOString()));
    expect(cloud.log.filter((l) => l.route === '/entries')).toHaveLength(3);
  });
});
