// Tags, IQs, locks (with the OTP), Gatehouse's user fields and `updated_at`: the client's calls
// against the mock, and the mock's admin helpers.
import { afterEach, describe, expect, it } from 'vitest';
import { collect, computeOtp, KsError } from '../../drivers/ks-connect/index.ts';
import { startKsCloud, type KsCloud, type KsCloudOptions } from './server.ts';
import {
  adminAddGroup,
  adminAddGroupLock,
  adminAddGroupUser,
  adminAddLock,
  adminAddTag,
  adminAddUser,
  adminDeleteGroup,
  adminDeleteTag,
  adminDeleteUser,
  adminRemoveGroupLock,
  adminRemoveGroupUser,
  adminRenameGroup,
  adminUpdateLock,
  adminUpdateTag,
  adminUpdateUser,
  mockOtp,
} from './store.ts';
import { signedInClient } from './signed-in.ts';

let cloud: KsCloud | undefined;
afterEach(async () => {
  await cloud?.close();
  cloud = undefined;
});

const T0 = Date.parse('2026-03-02T08:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

/** The mock runs on `clock.now`; backoff waits move it on. */
async function connect(opts: KsCloudOptions = {}) {
  const clock = { now: T0 };
  cloud = await startKsCloud({ ...opts, now: () => clock.now });
  const { client } = await signedInClient(cloud, { retry: { sleep: async (ms) => void (clock.now += ms), random: () => 0.5 } });
  return { cloud, clock, client, otp: () => mockOtp(cloud!.site, clock.now) };
}

const failure = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(KsError);
  const k = e as KsError;
  return [k.status, k.errorCode, k.ksMessage];
};

const WEEKDAYS = { monday: true, tuesday: true, wednesday: true, thursday: true, friday: true, saturday: false, sunday: false };
const NINE_TO_FIVE = { ...WEEKDAYS, start_time: '09:00:00', end_time: '17:00:00', start_date: null, end_date: null };

describe('the OTP', () => {
  it('is the first five digits of the hex MD5 of UTC time, secret and PIN', () => {
    // md5('20260101120000mock-iq-secret1234') = 3b725ae5f48391a8f45769c6ef74e322
    expect(computeOtp('mock-iq-secret', '1234', new Date('2026-01-01T12:00:00.700Z'))).toBe('37255');
  });

  it('the mock accepts a code from up to 180 s before its clock to 5 s after, and nothing else', async () => {
    const { cloud, client, clock } = await connect();
    const lock = adminAddLock(cloud.site, 'Front door');
    const code = (dt: number) => computeOtp('mock-iq-secret', '1234', new Date(clock.now + dt));
    expect(await failure(client.openLock(lock.id, code(-181_000)))).toEqual([404, '2202', 'Otp is invalid']);
    expect(await failure(client.openLock(lock.id, code(6_000)))).toEqual([404, '2202', 'Otp is invalid']);
    await client.openLock(lock.id, code(-180_000));
    await client.openLock(lock.id, code(5_000));
    expect(lock.locked_state).toBe('unlocked');
  });
});

describe('users', () => {
  it("store Gatehouse's phone, remote_access and validity; PATCH changes and clears them; updated_at follows", async () => {
    const { cloud, client, clock } = await connect();
    const { user } = await client.createUser({ first_name: 'Ada', email: 'ada@example.com', phone: '+49 30 1234', remote_access: true, valid_from: '2026-01-01T00:00:00Z', valid_until: '2026-12-31T23:59:59Z' });
    expect(user).toMatchObject({ phone: '+49 30 1234', remote_access: true, valid_from: '2026-01-01T00:00:00Z', valid_until: '2026-12-31T23:59:59Z', updated_at: at(T0) });
    clock.now += 60_000;
    const u = await client.updateUser(user.id, { valid_until: null, remote_access: false, last_name: 'Lovelace' });
    expect(u).toMatchObject({ phone: '+49 30 1234', remote_access: false, valid_until: null, updated_at: at(T0 + 60_000) });
    expect(u.user).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' });
    adminUpdateUser(cloud.site, user.id, { email: null, phone: '+1' }, T0 + 120_000);
    expect(cloud.site.users.get(user.id)).toMatchObject({ phone: '+1', updated_at: at(T0 + 120_000), user: { email: null } });
  });
});

describe('tags', () => {
  it('create, read, update, delete; tag_number is 10 digits and unique; the owner is a site user', async () => {
    const { cloud, client, clock } = await connect();
    const ada = adminAddUser(cloud.site, { email: 'ada@example.com' });
    const tag = await client.createTag({ tag_number: '0000007527', user_id: ada.id });
    expect(tag).toEqual({ id: tag.id, tag_number: '0000007527', kind: 'card', user_id: ada.id, blocked: false, lost_or_stolen: false, added_date: at(T0), updated_at: at(T0) });
    expect(await failure(client.createTag({ tag_number: '0000007527' }))).toEqual([400, '1101', "Invalid value of parameter 'tag_number': the tag is already registered"]);
    expect(await failure(client.createTag({ tag_number: '7527' }))).toEqual([400, '1101', "Invalid value of parameter 'tag_number'"]);
    expect(await failure(client.createTag({ tag_number: '0000000001', user_id: ada.user.id }))).toEqual([404, '2202', 'User not found']);
    clock.now += 1000;
    expect(await client.updateTag(tag.id, { kind: 'fob', blocked: true, user_id: null })).toMatchObject({ kind: 'fob', blocked: true, user_id: null, updated_at: at(T0 + 1000) });
    expect((await client.getTag(tag.id)).kind).toBe('fob');
    await client.deleteTag(tag.id);
    expect(await failure(client.getTag(tag.id))).toEqual([404, '2202', 'Tag not found']);
    expect(cloud.log.filter((l) => l.route === '/tags/:id' && l.method === 'DELETE').map((l) => l.status)).toEqual([204]);
  });

  it("deleting a user leaves that user's tags without an owner", async () => {
    const { cloud, client, clock } = await connect();
    const { user } = await client.createUser({ alias: 'bob' });
    const tag = await client.createTag({ tag_number: '1234567890', user_id: user.id });
    clock.now += 5000;
    await client.deleteUser(user.id);
    expect(cloud.site.tags.get(tag.id)).toMatchObject({ user_id: null, updated_at: at(T0 + 5000) });
  });

  it('a create whose answer is dropped leaves exactly one tag', async () => {
    const { cloud, client } = await connect();
    cloud.faults.add({ route: 'POST /tags', fault: { kind: 'drop' }, times: 1 });
    const r = await client.createTagOnce({ tag_number: '0000000042', kind: 'fob' }, { adoptExisting: false });
    expect(r.outcome).toBe('recovered');
    expect([...cloud.site.tags.values()].map((t) => [t.id, t.tag_number, t.kind])).toEqual([[r.tag.id, '0000000042', 'fob']]);
  });

  it('an outbox replay adopts the tag an earlier run registered', async () => {
    const { cloud, client } = await connect();
    const earlier = adminAddTag(cloud.site, { tag_number: '0000000043' });
    const r = await client.createTagOnce({ tag_number: '0000000043' }, { adoptExisting: true });
    expect([r.outcome, r.tag.id, cloud.site.tags.size]).toEqual(['adopted', earlier.id, 1]);
  });
});

describe('IQs', () => {
  it('register by MAC or activation code, rename, and delete only once no lock is attached', async () => {
    const { cloud, client, otp } = await connect();
    const iq = await client.addIq({ customer_reference: 'Hall', time_zone: 'Europe/Berlin', mac: '00:11:22:33:44:55' });
    expect(iq).toMatchObject({ customer_reference: 'Hall', time_zone: 'Europe/Berlin', mac: '00:11:22:33:44:55', updated_at: at(T0) });
    expect((await client.addIq({ customer_reference: 'KS', time_zone: 'UTC', activation_code: 'ABC-123' })).mac).toBeNull();
    expect(await failure(client.addIq({ customer_reference: 'x', time_zone: 'UTC' } as never))).toEqual([400, '1101', "Invalid value of parameter 'activation_code'"]);
    expect(await client.updateIq(iq.id, { customer_reference: 'Main hall', time_zone: 'UTC' })).toMatchObject({ customer_reference: 'Main hall', time_zone: 'UTC', mac: '00:11:22:33:44:55' });
    const lock = await client.createLock({ customer_reference: 'Front door', iq_id: iq.id, otp: otp() });
    expect(await failure(client.deleteIq(iq.id))).toEqual([400, '2209', 'delete-IQ prerequisites not met']);
    await client.removeLock(lock.id, otp());
    await client.deleteIq(iq.id);
    expect(cloud.site.iqs.has(iq.id)).toBe(false);
  });

  it('a registration whose answer is dropped leaves exactly one IQ', async () => {
    const { cloud, client } = await connect();
    cloud.faults.add({ route: 'POST /iqs', fault: { kind: 'drop' }, times: 1 });
    const r = await client.addIqOnce({ customer_reference: 'Hall', time_zone: 'UTC', mac: 'aa:bb:cc:dd:ee:ff' }, { adoptExisting: false });
    expect(r.outcome).toBe('recovered');
    expect([...cloud.site.iqs.keys()]).toEqual([r.iq.id]);
  });
});

describe('locks', () => {
  it('adding a lock needs the OTP; a rename does not, a move to another IQ does', async () => {
    const { cloud, client, clock, otp } = await connect();
    const hall = await client.addIq({ customer_reference: 'Hall', time_zone: 'UTC', mac: '00:00:00:00:00:01' });
    const annex = await client.addIq({ customer_reference: 'Annex', time_zone: 'UTC', mac: '00:00:00:00:00:02' });
    expect(await failure(client.createLock({ customer_reference: 'Front door', iq_id: hall.id, otp: '' }))).toEqual([404, '2202', 'Otp is invalid']);
    expect(cloud.site.locks.size).toBe(0);
    const lock = await client.createLock({ customer_reference: 'Front door', iq_id: hall.id, otp: otp() });
    expect(lock).toEqual({ id: lock.id, customer_reference: 'Front door', iq: { id: hall.id }, easy_office_mode_schedule: null, locked_state: 'locked', online: true, updated_at: at(T0) });
    clock.now += 1000;
    expect(await client.updateLock(lock.id, { customer_reference: 'Main door' })).toMatchObject({ customer_reference: 'Main door', updated_at: at(T0 + 1000) });
    expect(await client.updateLock(lock.id, { iq_id: hall.id })).toMatchObject({ iq: { id: hall.id } });
    expect(await failure(client.updateLock(lock.id, { iq_id: annex.id }))).toEqual([404, '2202', 'Otp is invalid']);
    expect(await client.updateLock(lock.id, { iq_id: annex.id, otp: otp() })).toMatchObject({ iq: { id: annex.id } });
    expect(await failure(client.updateLock(lock.id, { iq_id: '00000000-0000-0000-0000-000000000000', otp: otp() }))).toEqual([404, '2202', 'IQ not found']);
    expect(await client.updateLock(lock.id, { iq_id: null, otp: otp() })).toMatchObject({ iq: null });
  });

  it('the easy-office-mode schedule is PUT whole and DELETEd', async () => {
    const { cloud, client, clock } = await connect();
    const lock = adminAddLock(cloud.site, 'Office');
    clock.now += 1000;
    const eom = { ...NINE_TO_FIVE, holiday: true, eom_auto_start: true };
    expect(await client.setEasyOfficeModeSchedule(lock.id, eom)).toEqual({ ...eom, special_1: false, special_2: false });
    expect(await client.getLock(lock.id)).toMatchObject({ easy_office_mode_schedule: { ...eom, special_1: false, special_2: false }, updated_at: at(T0 + 1000) });
    const noDay = { ...eom, monday: false, tuesday: false, wednesday: false, thursday: false, friday: false };
    expect(await failure(client.setEasyOfficeModeSchedule(lock.id, noDay))).toEqual([400, '1101', 'At least one day should be selected']);
    await client.clearEasyOfficeModeSchedule(lock.id);
    expect((await client.getLock(lock.id)).easy_office_mode_schedule).toBeNull();
  });

  it('a create whose answer is dropped leaves exactly one lock', async () => {
    const { cloud, client, otp } = await connect();
    const iq = await client.addIq({ customer_reference: 'Hall', time_zone: 'UTC', mac: '00:00:00:00:00:01' });
    adminAddLock(cloud.site, 'Front door'); // same name, no IQ: not the one being made
    cloud.faults.add({ route: 'POST /locks', fault: { kind: 'drop' }, times: 1 });
    const r = await client.createLockOnce({ customer_reference: 'Front door', iq_id: iq.id, otp: otp() }, { adoptExisting: false });
    expect(r.outcome).toBe('recovered');
    expect([...cloud.site.locks.values()].filter((l) => l.iq?.id === iq.id).map((l) => l.id)).toEqual([r.lock.id]);
    expect(cloud.site.locks.size).toBe(2);
  });
});

describe('access groups', () => {
  it('updated_at follows the name, locks, users and schedules, through the API and the admin', async () => {
    const { cloud, client, clock } = await connect();
    const g = await client.createAccessGroup('Staff');
    expect(g.updated_at).toBe(at(T0));
    const lock = adminAddLock(cloud.site, 'Door', T0);
    const ada = adminAddUser(cloud.site, { alias: 'ada' }, T0);
    const updated = () => cloud.site.accessGroups.get(g.id)!.updated_at;
    const step = async (f: () => unknown) => {
      clock.now += 1000;
      await f();
      expect(updated()).toBe(at(clock.now));
    };
    await step(() => client.addLockToAccessGroup(g.id, lock.id));
    await step(() => client.addUserToAccessGroup(g.id, ada.user.id));
    let tsId = '';
    await step(async () => (tsId = (await client.createTimeSchedule(g.id, { ...NINE_TO_FIVE, special_1: true })).id));
    expect(cloud.site.schedules.get(g.id)!.get(tsId)).toMatchObject({ holiday: false, special_1: true, special_2: false });
    await step(() => client.updateTimeSchedule(g.id, tsId, { saturday: true }));
    expect((await collect(client.timeSchedules(g.id)))[0]).toMatchObject({ saturday: true, special_1: true });
    await step(() => client.deleteTimeSchedule(g.id, tsId));
    await step(() => client.updateAccessGroup(g.id, { customer_reference: 'All staff' }));
    await step(() => client.removeUserFromAccessGroup(g.id, ada.user.id));
    await step(() => client.removeLockFromAccessGroup(g.id, lock.id));
    await step(() => adminAddGroupUser(cloud.site, g.id, ada.user.id, clock.now));
    await step(() => adminDeleteUser(cloud.site, ada.id, clock.now));
    await step(() => adminAddGroupLock(cloud.site, g.id, lock.id, clock.now));
    await step(() => adminRemoveGroupLock(cloud.site, g.id, lock.id, clock.now));
    await step(() => adminRenameGroup(cloud.site, g.id, 'Everyone', clock.now));
  });

  it('the admin helpers change what the API then reads', async () => {
    const { cloud, client } = await connect();
    const g = adminAddGroup(cloud.site, 'Night shift', T0);
    const bob = adminAddUser(cloud.site, { alias: 'bob' }, T0);
    adminAddGroupUser(cloud.site, g.id, bob.user.id, T0);
    expect((await collect(client.accessGroupUsers(g.id))).map((u) => u.id)).toEqual([bob.id]);
    adminRemoveGroupUser(cloud.site, g.id, bob.user.id, T0 + 1);
    expect(await collect(client.accessGroupUsers(g.id))).toEqual([]);
    const tag = adminAddTag(cloud.site, { tag_number: '0000000099', user_id: bob.id }, T0);
    adminUpdateTag(cloud.site, tag.id, { lost_or_stolen: true }, T0 + 2);
    expect(await client.getTag(tag.id)).toMatchObject({ lost_or_stolen: true, user_id: bob.id, updated_at: at(T0 + 2) });
    adminDeleteTag(cloud.site, tag.id);
    expect(await collect(client.tags())).toEqual([]);
    const lock = adminAddLock(cloud.site, 'Door', T0);
    adminUpdateLock(cloud.site, lock.id, { customer_reference: 'Back door' }, T0 + 3);
    expect(await client.getLock(lock.id)).toMatchObject({ customer_reference: 'Back door', updated_at: at(T0 + 3) });
    adminDeleteGroup(cloud.site, g.id);
    expect(await collect(client.accessGroups())).toEqual([]);
  });
});
