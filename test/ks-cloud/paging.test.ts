// Whole lists through next_page_link and continuation tokens, and the OTP on remote opening.
import { afterEach, expect, it } from 'vitest';
import { and, collect, ge, KsError, le } from '../../drivers/ks-connect/index.ts';
import { startKsCloud, type KsCloud, type KsCloudOptions } from './server.ts';
import { adminAddEntries, adminAddLock, adminAddUser, mockOtp } from './store.ts';
import { signedInClient } from './signed-in.ts';

let cloud: KsCloud | undefined;
afterEach(async () => {
  await cloud?.close();
  cloud = undefined;
});

async function connect(opts: KsCloudOptions = {}) {
  cloud = await startKsCloud(opts);
  const { client } = await signedInClient(cloud, { retry: { sleep: async () => undefined } });
  return { cloud, client };
}

const FROM = new Date('2026-01-01T00:00:00Z');

it('reads 2,500 users across 25 pages, each once', async () => {
  const { cloud, client } = await connect();
  for (let i = 0; i < 2500; i++) adminAddUser(cloud.site, { alias: `u${i}` });
  const users = await collect(client.users());
  expect(users).toHaveLength(2500);
  expect(new Set(users.map((u) => u.id)).size).toBe(2500);
  expect(cloud.log.filter((l) => l.route === '/users')).toHaveLength(25);
});

it('reads 10,000 entries through continuation tokens, newest first, each once even when pages overlap', async () => {
  const { cloud, client } = await connect();
  adminAddEntries(cloud.site, 10_000, FROM);
  cloud.faults.add({ route: 'GET /entries', fault: { kind: 'duplicate' }, probability: 0.5 });
  const entries = await collect(client.entries({ top: 500 }));
  expect(cloud.faults.fired.length).toBeGreaterThan(0);
  expect(entries).toHaveLength(10_000);
  expect(new Set(entries.map((e) => e.id)).size).toBe(10_000);
  const times = entries.map((e) => e.utc_date_time);
  expect(times).toEqual([...times].sort().reverse());
});

it('a date window (ge/le) returns exactly the entries inside it', async () => {
  const { cloud, client } = await connect();
  adminAddEntries(cloud.site, 300, FROM);
  const entries = await collect(
    client.entries({ filter: and(ge('utc_date_time', new Date(FROM.getTime() + 100_000)), le('utc_date_time', new Date(FROM.getTime() + 199_000))), top: 30, orderby: 'utc_date_time asc' }),
  );
  expect(entries.map((e) => e.utc_date_time)).toEqual(Array.from({ length: 100 }, (_, i) => new Date(FROM.getTime() + (100 + i) * 1000).toISOString()));
});

it('entries pages retried after a 500 mid-way still give every entry once', async () => {
  const { cloud, client } = await connect();
  adminAddEntries(cloud.site, 1000, FROM);
  cloud.faults.add({ route: 'GET /entries', fault: { kind: 'error500' }, probability: 0.3, times: 5 });
  const entries = await collect(client.entries({ top: 100 }));
  expect(new Set(entries.map((e) => e.id)).size).toBe(1000);
  expect(entries).toHaveLength(1000);
});

it('remote opening carries the OTP; a wrong one is refused once, not retried', async () => {
  // A fixed clock: '00000' is then certainly not among the 186 codes the mock accepts.
  const NOW = Date.parse('2026-01-01T12:00:00Z');
  const { cloud, client } = await connect({ now: () => NOW });
  const lock = adminAddLock(cloud.site, 'Front door');
  const e = (await client.openLock(lock.id, '00000').catch((x: unknown) => x)) as KsError;
  expect(e).toBeInstanceOf(KsError);
  expect([e.status, e.errorCode, e.ksMessage]).toEqual([404, '2202', 'Otp is invalid']);
  expect(cloud.log.filter((l) => l.route === '/locks/:id/locking')).toHaveLength(1);
  expect(lock.locked_state).toBe('locked');
  await client.openLock(lock.id, mockOtp(cloud.site, NOW - 60_000));
  expect(lock.locked_state).toBe('unlocked');
});
