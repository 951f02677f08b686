// The KS Connect client against the mock cloud, one fault at a time.
import { afterEach, describe, expect, it } from 'vitest';
import { authorizeUrl, collect, createPkcePair, eq, KsError, KsIdentity, listenForLoopbackRedirect, MemoryTokenStore, TokenManager, type RetryPolicy } from '../../drivers/ks-connect/index.ts';
import { startKsCloud, type KsCloud, type KsCloudOptions } from './server.ts';
import { adminAddLock, adminAddUser } from './store.ts';
import { signedInClient } from './signed-in.ts';

let cloud: KsCloud | undefined;
afterEach(async () => {
  await cloud?.close();
  cloud = undefined;
});

/** With `clock`, the mock runs on it and every backoff wait moves it on, as if the time had passed. */
async function connect(opts: KsCloudOptions = {}, retry: Partial<RetryPolicy> = {}, clock?: { now: number }) {
  cloud = await startKsCloud(clock ? { ...opts, now: () => clock.now } : opts);
  const delays: number[] = [];
  const sleep = async (ms: number) => {
    delays.push(ms);
    if (clock) clock.now += ms;
  };
  const { client, store } = await signedInClient(cloud, { retry: { sleep, random: () => 0.5, ...retry } });
  return { cloud, client, delays, store };
}

const posts = (c: KsCloud, route: string) => c.log.filter((l) => l.method === 'POST' && l.route === route);

describe('tokens', () => {
  it('a token the cloud says has expired is refreshed once and the call goes through', async () => {
    const { cloud, client, store } = await connect();
    const before = (await store.load())!.accessToken;
    cloud.faults.add({ route: 'GET /users', fault: { kind: 'expire-token' }, times: 1 });
    expect(await collect(client.users())).toEqual([]);
    expect(cloud.identity.grants).toEqual(['password', 'refresh_token']);
    expect((await store.load())!.accessToken).not.toBe(before);
  });

  it('a token past its lifetime is refreshed before it is sent', async () => {
    let now = 1_000_000;
    const { cloud, client } = await connect({ now: () => now, auth: { accessTokenLifetimeMs: 60_000 } });
    await client.site();
    now += 61_000;
    // The client's own clock is real time here; the mock's 401 is what makes it refresh.
    await client.site();
    expect(cloud.identity.grants).toEqual(['password', 'refresh_token']);
  });

  it('refreshes ahead of expiry by its own clock, without a 401 first', async () => {
    cloud = await startKsCloud();
    let now = Date.now();
    const identity = new KsIdentity({ identityUrl: cloud.url, clientId: cloud.auth.clientId, clientSecret: cloud.auth.clientSecret, now: () => now });
    const tokens = new TokenManager(identity, new MemoryTokenStore(), { skewMs: 60_000, now: () => now });
    await tokens.signInWithPassword(cloud.auth.username, cloud.auth.password);
    const first = await tokens.accessToken();
    now += 3_600_000 - 59_000;
    expect(await tokens.accessToken()).not.toBe(first);
    expect(cloud.identity.grants).toEqual(['password', 'refresh_token']);
  });

  it('a refused refresh surfaces as KsError invalid_grant, not as a loop', async () => {
    const { cloud, client, store } = await connect();
    const t = (await store.load())!;
    await store.save({ ...t, refreshToken: 'revoked' });
    cloud.faults.add({ route: 'GET /users/:id', fault: { kind: 'expire-token' } });
    const e = await client.getUser('00000000-0000-0000-0000-000000000000').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KsError);
    expect((e as KsError).errorCode).toBe('invalid_grant');
  });

  it('wrong credentials are refused with the identity server\'s reason', async () => {
    cloud = await startKsCloud();
    const identity = new KsIdentity({ identityUrl: cloud.url, clientId: cloud.auth.clientId, clientSecret: cloud.auth.clientSecret });
    const e = (await identity.passwordGrant(cloud.auth.username, 'nope').catch((x: unknown) => x)) as KsError;
    expect([e.status, e.errorCode, e.ksMessage]).toEqual([400, 'invalid_grant', 'invalid_username_or_password']);
  });
});

describe('PKCE sign-in with a loopback redirect', () => {
  async function signIn(verifierOf: (real: string) => string) {
    cloud = await startKsCloud({ auth: { clientSecret: undefined } });
    const identity = new KsIdentity({ identityUrl: cloud.url, clientId: cloud.auth.clientId });
    const pkce = createPkcePair();
    const loopback = await listenForLoopbackRedirect('state-1', 5000);
    try {
      // The test plays the browser: the mock approves at once and redirects to the loopback listener.
      const page = await fetch(authorizeUrl({ identityUrl: cloud.url, clientId: cloud.auth.clientId, redirectUri: loopback.redirectUri, challenge: pkce.challenge, state: 'state-1', scope: identity.scope }));
      expect(await page.text()).toMatch(/Signed in/);
      return await identity.exchangeCode(await loopback.code, loopback.redirectUri, verifierOf(pkce.verifier));
    } finally {
      await loopback.close();
    }
  }

  it('the code and the right verifier give an access and a refresh token', async () => {
    const t = await signIn((v) => v);
    expect(t.accessToken).toBeTruthy();
    expect(t.refreshToken).toBeTruthy();
    expect(cloud!.identity.valid(t.accessToken)).toBe(true);
  });

  it('a wrong verifier is refused', async () => {
    const e = (await signIn((v) => v.slice(1) + 'x').catch((x: unknown) => x)) as KsError;
    expect(e).toBeInstanceOf(KsError);
    expect([e.status, e.errorCode]).toEqual([400, 'invalid_grant']);
  });

  it('a redirect with someone else\'s state is refused', async () => {
    const loopback = await listenForLoopbackRedirect('mine', 5000);
    await fetch(`${loopback.redirectUri}?code=abc&state=theirs`);
    await expect(loopback.code).rejects.toThrow(/wrong state/);
    await loopback.close();
  });
});

describe('retries', () => {
  it('429 waits exactly the Retry-After the cloud asked for', async () => {
    const { cloud, client, delays } = await connect();
    cloud.faults.add({ route: 'GET /locks', fault: { kind: 'rate-limit', retryAfterSeconds: 7 }, times: 2 });
    adminAddLock(cloud.site, 'Front door');
    expect((await collect(client.locks())).map((l) => l.customer_reference)).toEqual(['Front door']);
    expect(delays).toEqual([7000, 7000]);
  });

  it('500s are retried with growing, jittered backoff and then succeed', async () => {
    const { cloud, client, delays } = await connect({}, { baseDelayMs: 100, random: () => 0.5 });
    cloud.faults.add({ route: 'GET /locks', fault: { kind: 'error500' }, times: 3 });
    await collect(client.locks());
    expect(delays).toEqual([50, 100, 200]);
  });

  it('gives up after maxAttempts with the cloud\'s error', async () => {
    const { cloud, client, delays } = await connect({}, { maxAttempts: 4 });
    cloud.faults.add({ route: 'GET /locks', fault: { kind: 'error500' } });
    const e = (await collect(client.locks()).catch((x: unknown) => x)) as KsError;
    expect(e).toBeInstanceOf(KsError);
    expect([e.status, e.errorCode]).toEqual([500, '2201']);
    expect(e.message).toMatch(/GET .*\/locks: 500 2201: Internal error/);
    expect(delays).toHaveLength(3);
  });

  it('a 4xx is final: no retry', async () => {
    const { client, delays } = await connect();
    const e = (await client.getUser('00000000-0000-0000-0000-000000000000').catch((x: unknown) => x)) as KsError;
    expect([e.status, e.errorCode, e.ksMessage]).toEqual([404, '2202', 'User not found']);
    expect(delays).toEqual([]);
  });

  it('a bad $filter is reported as 1102', async () => {
    const { cloud, client } = await connect();
    adminAddUser(cloud.site, { alias: 'someone' });
    const e = (await collect(client.users({ filter: eq('no_such_field', 1) })).catch((x: unknown) => x)) as KsError;
    expect([e.status, e.errorCode]).toEqual([400, '1102']);
  });
});

describe('creates', () => {
  it('a user create whose answer is dropped after commit makes exactly one user', async () => {
    const { cloud, client } = await connect();
    cloud.faults.add({ route: 'POST /users', fault: { kind: 'drop' }, times: 1 });
    const r = await client.createUserOnce({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' }, { adoptExisting: false });
    expect(r.outcome).toBe('recovered');
    expect(cloud.site.users.size).toBe(1);
    expect(r.user.id).toBe([...cloud.site.users.keys()][0]);
    expect(posts(cloud, '/users').map((l) => l.status)).toEqual(['dropped']);
  });

  it('a create refused with 500 before commit is made again, once', async () => {
    const { cloud, client } = await connect();
    cloud.faults.add({ route: 'POST /users', fault: { kind: 'error500' }, times: 2 });
    const r = await client.createUserOnce({ alias: 'Tag 17' }, { adoptExisting: false });
    expect(r.outcome).toBe('created');
    expect([...cloud.site.users.values()].map((u) => u.alias)).toEqual(['Tag 17']);
  });

  it('a group create dropped after commit makes exactly one group', async () => {
    const { cloud, client } = await connect();
    cloud.faults.add({ route: 'POST /access_groups', fault: { kind: 'drop' }, times: 1 });
    const r = await client.createAccessGroupOnce('Staff', { adoptExisting: false });
    expect(r.outcome).toBe('recovered');
    expect([...cloud.site.accessGroups.values()].map((g) => g.customer_reference)).toEqual(['Staff']);
  });

  it('an outbox replay adopts the user an earlier run created instead of making another', async () => {
    const { cloud, client } = await connect();
    const earlier = adminAddUser(cloud.site, { email: 'bob@example.com', first_name: 'Bob' });
    const r = await client.createUserOnce({ email: 'bob@example.com', first_name: 'Bob' }, { adoptExisting: true });
    expect([r.outcome, r.user.id, cloud.site.users.size]).toEqual(['adopted', earlier.id, 1]);
  });

  it('a plain create whose answer is dropped is not repeated blindly', async () => {
    const { cloud, client } = await connect();
    cloud.faults.add({ route: 'POST /users', fault: { kind: 'drop' }, times: 1 });
    const e = (await client.createUser({ alias: 'x' }).catch((x: unknown) => x)) as KsError;
    expect([e.status, e.errorCode, e.ambiguous]).toEqual([0, 'network', true]);
    expect(cloud.site.users.size).toBe(1);
  });

  it('a user created beyond the seats comes back flagged suspended', async () => {
    const { client } = await connect({ seats: 1 });
    const first = await client.createUser({ alias: 'one' });
    const second = await client.createUser({ alias: 'two' });
    expect([first.suspended, second.suspended]).toEqual([false, true]);
    expect(second.user.subscription_state).toBe('suspended');
  });

  it('2202 right after a create is the cloud catching up: retried until the membership lands', async () => {
    const clock = { now: Date.now() };
    const { cloud, client, delays } = await connect({ settleMs: 20_000 }, { settleDelayMs: 5000 }, clock);
    const group = await client.createAccessGroup('Staff');
    const { user } = await client.createUser({ alias: 'new' });
    await client.addUserToAccessGroup(group.id, user.user.id);
    expect(cloud.site.groupUsers.get(group.id)!.has(user.user.id)).toBe(true);
    expect(delays).toEqual([5000, 5000, 5000, 5000]);
  });
});
