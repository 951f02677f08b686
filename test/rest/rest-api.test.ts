// Behaviour of the CLP-compatible REST API against a real host with the demo site: tokens, paging,
// OData filters, the two user ids, remote opening, the access check, and the host's defaults.
// The service clock is injectable (startHost's `now`), so expiry and throttling need no waiting.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../core/host/host.ts';

const OWNER_PASSWORD = 'correct horse battery';

let host: RunningHost;
let dataDir: string;
let site: string;
let owner: string;
/** Added to the real time for the service's clock. */
let skew = 0;

type Json = Record<string, unknown>;
interface Envelope<T = Json> {
  items: T[];
  next_page_link: string | null;
  count: number;
}

interface Reply<T = Json> {
  status: number;
  headers: Headers;
  body: T;
}

async function http<T = Json>(method: string, url: string, opts: { token?: string | null; json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? owner : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  const res = await fetch(url.startsWith('http') ? url : host.url + url, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as T };
}

const api = (path: string) => `/v1.1/sites/${site}${path}`;
const get = <T = Json>(path: string, token?: string | null) => http<T>('GET', path, { token });
const ok = <T>(r: Reply<T>, status = 200): T => {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
};
/** `path` with OData options, encoded the way curl --data-urlencode does. */
const odata = (path: string, q: Record<string, string | number>) => `${api(path)}?${new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;

async function passwordToken(username: string, password: string): Promise<Reply> {
  return http('POST', '/connect/token', { token: null, form: { grant_type: 'password', username, password } });
}

async function walk<T = Json>(first: string): Promise<{ items: T[]; counts: number[]; pages: number }> {
  const items: T[] = [];
  const counts: number[] = [];
  let url: string | null = first;
  let pages = 0;
  while (url) {
    const page: Envelope<T> = ok(await get<Envelope<T>>(url));
    items.push(...page.items);
    counts.push(page.count);
    url = page.next_page_link;
    if (++pages > 1000) throw new Error('next_page_link does not end');
  }
  return { items, counts, pages };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-rest-api-'));
  host = await startHost({ dataDir, port: 0, host: '127.0.0.1', demo: true, ownerPassword: OWNER_PASSWORD, version: 'test', log: () => {}, now: () => Date.now() + skew });
  site = (await http<{ site_id: string }>('GET', '/api/health', { token: null })).body.site_id;
  owner = ok(await passwordToken('owner', OWNER_PASSWORD)).access_token as string;
});

afterAll(async () => {
  await host?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('host', () => {
  it('serves /api/health without a token', async () => {
    const h = ok(await http('GET', '/api/health', { token: null }));
    expect(h).toMatchObject({ status: 'ok', version: 'test', site_id: site });
    expect(typeof h.schema_version).toBe('number');
  });

  it('binds 127.0.0.1 by default', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const addr = host.server.server.address();
    expect(typeof addr === 'object' && addr ? addr.address : addr).toBe('127.0.0.1');
    // The CLI's default for --host (what `npm run serve` uses) is this machine only.
    const env = { ...process.env };
    delete env.GATEHOUSE_HOST;
    const help = spawnSync(process.execPath, ['bin/gatehouse.mjs', 'serve', '--help'], { cwd: join(import.meta.dirname, '../..'), env, encoding: 'utf8', timeout: 20_000 });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/--host <address>[\s\S]*default: "127\.0\.0\.1"/);
  });

  it('answers /v1.1 and /v1.2 alike', async () => {
    const a = ok(await get<Envelope>(`/v1.1/sites/${site}/locks?$top=3`));
    const b = ok(await get<Envelope>(`/v1.2/sites/${site}/locks?$top=3`));
    expect(b.items).toEqual(a.items);
    expect(b.count).toBe(a.count);
    expect(b.next_page_link).toBe(a.next_page_link!.replace('/v1.1/', '/v1.2/'));
    const sites = ok(await get<Envelope>('/v1.2/sites'));
    expect(sites).toMatchObject({ count: 1, next_page_link: null });
    expect(sites.items[0]!.id).toBe(site);
  });
});

describe('tokens', () => {
  it('password grant (form or JSON) gives a bearer token for an hour', async () => {
    const t = ok(await passwordToken('frontdesk', 'demo-frontdesk-pass'));
    expect(t).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(typeof t.access_token).toBe('string');
    ok(await get(api('/users?$top=1'), t.access_token as string));
    const j = ok(await http('POST', '/connect/token', { token: null, json: { grant_type: 'password', username: 'installer', password: 'demo-installer-pass' } }));
    ok(await get(api('/iqs'), j.access_token as string));
  });

  it('a wrong password is 400 invalid_grant', async () => {
    const r = await passwordToken('owner', 'not the password');
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'invalid_grant', ErrorCode: '1500' });
  });

  it('client_credentials for an integration client made by an admin (Basic auth or form body)', async () => {
    const admin = ok(await passwordToken('admin', 'demo-admin-pass')).access_token as string;
    const created = ok(await http<{ result: Json }>('POST', '/api/rpc/api_clients.create', { token: admin, json: { customer_reference: 'Visitor kiosk', role: 'front_desk' } })).result;
    const id = created.client_id as string;
    const secret = created.client_secret as string;
    expect(id).toBeTruthy();
    expect(secret).toBeTruthy();

    const basic = ok(await http('POST', '/connect/token', { token: null, form: { grant_type: 'client_credentials' }, headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` } }));
    expect(basic).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const form = ok(await http('POST', '/connect/token', { token: null, form: { grant_type: 'client_credentials', client_id: id, client_secret: secret } }));
    for (const t of [basic.access_token, form.access_token] as string[]) {
      ok(await get(api('/users?$top=1'), t));
      // The client acts with its role: front desk may not add hardware.
      const r = await http('POST', api('/iqs'), { token: t, json: { mac: '02-00-00-00-00-01', customer_reference: 'x' } });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ ErrorCode: '2203' });
    }

    const wrong = await http('POST', '/connect/token', { token: null, form: { grant_type: 'client_credentials', client_id: id, client_secret: 'wrong' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'invalid_client', ErrorCode: '1500' });
  });
});

describe('lists', () => {
  it('next_page_link walks all users of the demo site exactly once with $top=50', async () => {
    const { items, counts, pages } = await walk<{ id: string }>(`${api('/users')}?$top=50`);
    const ids = items.map((u) => u.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(counts[0]);
    expect(counts[0]).toBeGreaterThanOrEqual(500);
    expect(new Set(counts).size).toBe(1);
    expect(pages).toBe(Math.ceil(counts[0]! / 50));
  });

  it('next_page_link keeps $filter and $orderby', async () => {
    const { items, counts } = await walk<{ first_name: string; last_name: string }>(odata('/users', { $filter: "user/first_name eq 'Anna'", $orderby: 'last_name desc', $top: 4 }));
    expect(items.length).toBe(counts[0]);
    expect(items.length).toBeGreaterThan(4);
    expect(items.every((u) => u.first_name === 'Anna')).toBe(true);
    const names = items.map((u) => u.last_name.toLowerCase());
    expect(names).toEqual([...names].sort().reverse());
  });

  it('defaults to $top=100 and allows at most 1000', async () => {
    const page = ok(await get<Envelope>(api('/users')));
    expect(page.items.length).toBe(100);
    expect(page.next_page_link).toContain('$top=100');
    expect(page.next_page_link).toContain('$skip=100');
    expect(ok(await get<Envelope>(api('/entries?$top=1000'))).items.length).toBe(1000);
    expect((await get(api('/entries?$top=1001'))).status).toBe(400);
  });

  it("$filter=locked_state eq 'locked' and online eq true (locks)", async () => {
    const all = ok(await get<Envelope>(api('/locks?$top=1000')));
    const locked = ok(await get<Envelope<{ locked_state: string }>>(odata('/locks', { $filter: "locked_state eq 'locked'", $top: 1000 })));
    expect(locked.count).toBeGreaterThan(0);
    expect(locked.items.every((l) => l.locked_state === 'locked')).toBe(true);
    const online = ok(await get<Envelope<{ online: boolean }>>(odata('/locks', { $filter: 'online eq true', $top: 1000 })));
    expect(online.items.every((l) => l.online)).toBe(true);
    const offline = ok(await get<Envelope<{ online: boolean }>>(odata('/locks', { $filter: 'not (online eq true)', $top: 1000 })));
    expect(offline.count).toBeGreaterThan(0);
    expect(online.count + offline.count).toBe(all.count);
  });

  it("$filter=user/first_name eq 'Anna' (users, KS field names)", async () => {
    const r = ok(await get<Envelope<{ first_name: string; user: { first_name: string } }>>(odata('/users', { $filter: "user/first_name eq 'Anna'", $top: 1000 })));
    expect(r.count).toBeGreaterThan(0);
    expect(r.items.every((u) => u.first_name === 'Anna' && u.user.first_name === 'Anna')).toBe(true);
    const flat = ok(await get<Envelope>(odata('/users', { $filter: "first_name eq 'Anna'", $top: 1 })));
    expect(flat.count).toBe(r.count);
  });

  it('contains / startswith / endswith / substringof, and/or with parentheses', async () => {
    const rooms = ok(await get<Envelope<{ customer_reference: string }>>(odata('/locks', { $filter: "contains(customer_reference,'meeting room')", $top: 100 })));
    expect(rooms.count).toBeGreaterThan(2);
    expect(rooms.items.every((l) => l.customer_reference.toLowerCase().includes('meeting room'))).toBe(true);
    const v2 = ok(await get<Envelope>(odata('/locks', { $filter: "substringof('Meeting room',customer_reference)", $top: 100 })));
    expect(v2.count).toBe(rooms.count);
    const north = ok(await get<Envelope<{ customer_reference: string; floor: string | null }>>(odata('/locks', { $filter: "startswith(customer_reference,'North') and (floor eq '1' or floor eq '2')", $top: 100 })));
    expect(north.count).toBeGreaterThan(0);
    expect(north.items.every((l) => l.customer_reference.startsWith('North') && (l.floor === '1' || l.floor === '2'))).toBe(true);
    const mail = ok(await get<Envelope<{ email: string }>>(odata('/users', { $filter: "endswith(email,'@harbour.example')", $top: 1 })));
    expect(mail.count).toBeGreaterThanOrEqual(500);
  });

  it("entries: utc_date_time ge DateTime'...' and lt", async () => {
    const total = ok(await get<Envelope>(api('/entries?$top=1&$inlinecount=allpages'))).count;
    const cutoff = new Date(Date.now() + skew - 3 * 86_400_000).toISOString();
    const recent = ok(await get<Envelope<{ utc_date_time: string }>>(odata('/entries', { $filter: `utc_date_time ge DateTime'${cutoff}'`, $top: 1000, $inlinecount: 'allpages' })));
    const older = ok(await get<Envelope<{ utc_date_time: string }>>(odata('/entries', { $filter: `utc_date_time lt DateTime'${cutoff}'`, $top: 1000, $count: 'true' })));
    expect(recent.count).toBeGreaterThan(0);
    expect(older.count).toBeGreaterThan(0);
    expect(recent.count + older.count).toBe(total);
    expect(recent.items.every((e) => e.utc_date_time >= cutoff)).toBe(true);
    expect(older.items.every((e) => e.utc_date_time < cutoff)).toBe(true);
    // Newest first by default.
    const times = recent.items.map((e) => e.utc_date_time);
    expect(times).toEqual([...times].sort().reverse());
    // The CLP SDK's form: no offset means UTC; combined with other conditions.
    const rejected = ok(await get<Envelope<{ event_category: string }>>(odata('/entries', { $filter: `(utc_date_time ge DateTime'${cutoff.slice(0, 19)}') and event_category eq 'lock_rejected'`, $top: 50 })));
    expect(rejected.items.every((e) => e.event_category === 'lock_rejected')).toBe(true);
  });

  it('a bad filter is 400 1102 naming the problem', async () => {
    const r = await get(odata('/locks', { $filter: 'online eq' }));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ ErrorCode: '1102' });
    expect(r.body.Message).toMatch(/OData filter/);
  });
});

describe('people and access groups', () => {
  it('membership accepts the platform user.id (KS) and the site-user id', async () => {
    const created = ok(await http<Json & { id: string; user: { id: string } }>('POST', api('/users'), { json: { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' } }), 201);
    const siteUserId = created.id;
    const platformId = created.user.id;
    expect(platformId).toBeTruthy();
    expect(platformId).not.toBe(siteUserId);
    expect(created.user_id).toBe(platformId);

    const groups = ok(await get<Envelope<{ id: string; customer_reference: string }>>(api('/access_groups')));
    const visitors = groups.items.find((g) => g.customer_reference === 'Visitors')!.id;
    const gym = groups.items.find((g) => g.customer_reference === 'Gym members')!.id;
    const members = async (g: string) => ok(await get<Envelope<{ id: string }>>(odata(`/access_groups/${g}/users`, { $filter: `user/id eq '${platformId}'` }))).items.map((u) => u.id);

    // KS v1.2: POST {user_id} with the platform id.
    ok(await http('POST', api(`/access_groups/${visitors}/users`), { json: { user_id: platformId } }), 201);
    expect(await members(visitors)).toEqual([siteUserId]);
    // The site-user id works too.
    ok(await http('POST', api(`/access_groups/${gym}/users`), { json: { user_id: siteUserId } }), 201);
    expect(await members(gym)).toEqual([siteUserId]);
    const detail = ok(await get<{ access_groups: Array<{ id: string }> }>(api(`/users/${siteUserId}`)));
    expect(detail.access_groups.map((g) => g.id).sort()).toEqual([visitors, gym].sort());

    // Removing: DELETE by either id, PATCH remove_ids by either id.
    expect((await http('DELETE', api(`/access_groups/${visitors}/users/${platformId}`))).status).toBe(204);
    expect(await members(visitors)).toEqual([]);
    ok(await http('PATCH', api(`/access_groups/${visitors}/users`), { json: { add_ids: [platformId] } }));
    ok(await http('PATCH', api(`/access_groups/${gym}/users`), { json: { remove_ids: [platformId] } }));
    expect(await members(visitors)).toEqual([siteUserId]);
    expect(await members(gym)).toEqual([]);
    // /users/{id} is the site-user id only.
    expect((await get(api(`/users/${platformId}`))).status).toBe(404);
  });

  it('a time schedule is changed or removed only through its own group', async () => {
    const groups = ok(await get<Envelope<{ id: string; time_schedule_count: number }>>(api('/access_groups')));
    const [a, b] = groups.items.filter((g) => g.time_schedule_count > 0);
    const ts = ok(await get<Envelope<{ id: string }>>(api(`/access_groups/${a!.id}/time_schedules`))).items[0]!.id;
    const before = ok(await get(api(`/access_groups/${a!.id}/time_schedules/${ts}`)));
    const replacement = { sunday: true, start_time: '01:00', end_time: '02:00' };
    for (const [method, json] of [['PATCH', replacement], ['PUT', replacement], ['DELETE', undefined]] as const) {
      const r = await http(method, api(`/access_groups/${b!.id}/time_schedules/${ts}`), { json });
      expect(r.status, `${method} via another group`).toBe(404);
      expect(r.body).toMatchObject({ ErrorCode: '2202' });
    }
    expect(ok(await get(api(`/access_groups/${a!.id}/time_schedules/${ts}`)))).toEqual(before);
    expect((await get(api(`/access_groups/${b!.id}/time_schedules/${ts}`))).status).toBe(404);
  });

  it('PATCH /locks/{id}/locking unlocked: a remote opening shows up in /entries', async () => {
    const lock = ok(await get<Envelope<{ id: string; customer_reference: string }>>(odata('/locks', { $filter: "customer_reference eq 'North — Server room'" }))).items[0]!;
    const filter = { $filter: `lock_id eq '${lock.id}' and access_by eq 'remote'`, $inlinecount: 'allpages' };
    const before = ok(await get<Envelope>(odata('/entries', filter))).count;
    // The operator confirms with their password (they have no PIN), KS's otp field; without it nothing opens.
    const refused = await http<{ ErrorCode: number; Message: string }>('PATCH', api(`/locks/${lock.id}/locking`), { json: { locked_state: 'unlocked' } });
    expect(refused.status).toBe(400);
    expect(refused.body.Message).toContain('needs a second confirmation: your password');
    const wrong = await http<{ ErrorCode: number }>('PATCH', api(`/locks/${lock.id}/locking`), { json: { locked_state: 'unlocked', otp: 'not it' } });
    expect(wrong.status).toBe(403);
    expect(ok(await get<Envelope>(odata('/entries', filter))).count).toBe(before);
    const after = ok(await http<{ id: string }>('PATCH', api(`/locks/${lock.id}/locking`), { json: { locked_state: 'unlocked', otp: OWNER_PASSWORD } }));
    expect(after.id).toBe(lock.id);
    const entries = ok(await get<Envelope<Json>>(odata('/entries', filter)));
    expect(entries.count).toBe(before + 1);
    expect(entries.items[0]).toMatchObject({ lock_id: lock.id, access_by: 'remote', event_category: 'lock_opened', lock_customer_reference: lock.customer_reference });
    // Who opened it is in the operator log. (Before the audit-trail rebuild the entry's user_name named
    // the operator too; ingest now fills user_name only from site users.)
    const log = ok(await http<{ result: { items: Array<{ actor_name: string; target_id: string }> } }>('POST', '/api/rpc/operator_log.list', {
      json: { filter: { op: 'eq', field: 'command', value: 'locks.set_locking' }, top: 1 },
    })).result.items[0];
    expect(log).toMatchObject({ actor_name: 'owner', target_id: lock.id });
  });

  it('/access_check explains a decision', async () => {
    const tag = ok(await get<Envelope<{ tag_number: string; user_id: string }>>(odata('/tags', { $filter: "user_id ne null and lost_or_stolen eq false and blocked eq false", $top: 1 }))).items[0]!;
    const lock = ok(await get<Envelope<{ id: string }>>(odata('/locks', { $filter: "customer_reference eq 'North — Server room'" }))).items[0]!;
    const byTag = ok(await get<Json>(odata('/access_check', { tag_number: tag.tag_number, lock_id: lock.id, at: '2026-11-23T10:00:00+01:00' })));
    expect(typeof byTag.granted).toBe('boolean');
    expect(typeof byTag.summary).toBe('string');
    expect(Array.isArray(byTag.checks) && byTag.checks.length).toBeTruthy();
    expect(byTag).toMatchObject({ lock: { id: lock.id }, local_date_time: '2026-11-23T10:00:00', time_zone: 'Europe/Amsterdam' });
    // The person behind the tag, asked for by platform user id.
    const person = ok(await get<{ user: { id: string } }>(api(`/users/${tag.user_id}`)));
    const byPlatformId = ok(await get<Json>(odata('/access_check', { user_id: person.user.id, lock_id: lock.id, at: '2026-11-23T10:00:00+01:00' })));
    expect(byPlatformId).toMatchObject({ granted: byTag.granted, user: { id: tag.user_id } });
  });
});

describe('audit trail: entries, incidents, export', () => {
  interface Entry {
    id: string;
    utc_date_time: string;
    local_date_time: string;
    lock_id: string | null;
    user_id: string | null;
    site_user_id: string | null;
    user_name: string | null;
    event_category: string;
  }
  interface KeysetPage<T = Entry> {
    items: T[];
    next_page_link: string | null;
    count: number | null;
    continuation_token: string | null;
  }
  interface Incident {
    id: string;
    incident_type: string;
    acknowledged: boolean;
    acknowledged_by: string | null;
    ack_comment: string | null;
  }

  /** Newest first: by time, then by id (the order entries were stored). */
  const newestFirst = (a: Entry, b: Entry) => (a.utc_date_time === b.utc_date_time ? Number(b.id) - Number(a.id) : a.utc_date_time < b.utc_date_time ? 1 : -1);
  let lock: { id: string; customer_reference: string };
  let lockCount: number;

  beforeAll(async () => {
    // A door with a few hundred entries: enough pages to walk, few enough to walk quickly.
    const locks = ok(await get<Envelope<{ id: string; customer_reference: string }>>(odata('/locks', { $top: 100, $orderby: 'customer_reference' }))).items;
    for (const l of locks) {
      const n = ok(await get<KeysetPage>(odata('/entries', { $filter: `lock_id eq '${l.id}'`, $top: 1, $inlinecount: 'allpages' }))).count!;
      if (n >= 150 && n <= 1500) {
        lock = l;
        lockCount = n;
        break;
      }
    }
    expect(lock, 'a demo door with 150 to 1500 entries').toBeDefined();
  });

  it('count only when asked for: $inlinecount=allpages or $count=true', async () => {
    const filter = `lock_id eq '${lock.id}'`;
    expect(ok(await get<KeysetPage>(odata('/entries', { $filter: filter, $top: 1 }))).count).toBeNull();
    expect(ok(await get<KeysetPage>(odata('/entries', { $filter: filter, $top: 1, $inlinecount: 'none' }))).count).toBeNull();
    expect(ok(await get<KeysetPage>(odata('/entries', { $filter: filter, $top: 1, $count: 'true' }))).count).toBe(lockCount);
  });

  it('paging with CLP-Continuation-Token collects every entry of a door exactly once, newest first', async () => {
    const filter = `lock_id eq '${lock.id}'`;
    const seen: Entry[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const page: KeysetPage = ok(await http<KeysetPage>('GET', odata('/entries', { $filter: filter, $top: 97 }), { headers: token ? { 'CLP-Continuation-Token': token } : {} }));
      seen.push(...page.items);
      if (page.continuation_token !== null) {
        expect(page.items.length, 'only the last page is short').toBe(97);
        expect(new URL(page.next_page_link!).searchParams.get('continuation_token')).toBe(page.continuation_token);
      } else expect(page.next_page_link).toBeNull();
      token = page.continuation_token;
      if (++pages > 100) throw new Error('the continuation token does not end');
    } while (token);
    expect(pages).toBe(Math.ceil(lockCount / 97));
    expect(seen.length).toBe(lockCount);
    expect(new Set(seen.map((e) => e.id)).size).toBe(lockCount);
    expect(seen.every((e) => e.lock_id === lock.id)).toBe(true);
    expect(seen).toEqual([...seen].sort(newestFirst));
  });

  it('$orderby=utc_date_time asc walks the same entries oldest first, following next_page_link', async () => {
    const desc = await walkAll(odata('/entries', { $filter: `lock_id eq '${lock.id}'`, $top: 1000 }));
    const asc = await walkAll(odata('/entries', { $filter: `lock_id eq '${lock.id}'`, $top: 61, $orderby: 'utc_date_time asc' }));
    expect(asc.pages).toBe(Math.ceil(lockCount / 61));
    expect(asc.items.map((e) => e.id)).toEqual(desc.items.map((e) => e.id).reverse());
  });

  it('a page that ends exactly at the last entry says it is the last, both ways', async () => {
    for (const $orderby of ['utc_date_time desc', 'utc_date_time asc']) {
      const all = ok(await get<KeysetPage>(odata('/entries', { $filter: `lock_id eq '${lock.id}'`, $top: lockCount, $orderby })));
      expect(all.items.length, $orderby).toBe(lockCount);
      expect(all.continuation_token, $orderby).toBeNull();
      const short = ok(await get<KeysetPage>(odata('/entries', { $filter: `lock_id eq '${lock.id}'`, $top: lockCount - 1, $orderby })));
      expect(short.continuation_token, $orderby).not.toBeNull();
      const rest = ok(await get<KeysetPage>(odata('/entries', { $filter: `lock_id eq '${lock.id}'`, $top: lockCount - 1, $orderby, continuation_token: short.continuation_token! })));
      expect(rest.items.map((e) => e.id), $orderby).toEqual([all.items.at(-1)!.id]);
      expect(rest.continuation_token, $orderby).toBeNull();
    }
  });

  async function walkAll(first: string): Promise<{ items: Entry[]; pages: number }> {
    const items: Entry[] = [];
    let url: string | null = first;
    let pages = 0;
    while (url) {
      const page: KeysetPage = ok(await get<KeysetPage>(url));
      items.push(...page.items);
      url = page.next_page_link;
      if (++pages > 1000) throw new Error('next_page_link does not end');
    }
    return { items, pages };
  }

  it('entries carry the platform user id as user_id (as KS does) and the site-user id; user_id filters by either', async () => {
    const opened = ok(await get<KeysetPage>(odata('/entries', { $filter: "event_category eq 'lock_opened' and access_by eq 'tag'", $top: 1 }))).items[0]!;
    const person = ok(await get<{ id: string; user: { id: string }; first_name: string }>(api(`/users/${opened.site_user_id}`)));
    expect(opened.user_id).toBe(person.user.id);
    expect(opened.user_id).not.toBe(opened.site_user_id);
    expect(opened.user_name).toContain(person.first_name);
    const byPlatform = ok(await get<KeysetPage>(odata('/entries', { $filter: `user_id eq '${person.user.id}'`, $top: 1000, $inlinecount: 'allpages' })));
    const bySiteUser = ok(await get<KeysetPage>(odata('/entries', { $filter: `user_id eq '${person.id}'`, $top: 1000, $inlinecount: 'allpages' })));
    expect(byPlatform.count).toBeGreaterThan(0);
    expect(byPlatform.items.every((e) => e.user_id === person.user.id && e.site_user_id === person.id)).toBe(true);
    expect(bySiteUser.items).toEqual(byPlatform.items);
    expect(bySiteUser.count).toBe(byPlatform.count);
    // GET /entries/{id} answers the same item.
    expect(ok(await get<Entry>(api(`/entries/${opened.id}`)))).toEqual(opened);
    expect((await get(api('/entries/999999999'))).status).toBe(404);
  });

  it('a filter that contradicts itself answers an empty page; one it cannot take is 400 1102 saying what can be filtered', async () => {
    const other = ok(await get<Envelope<{ id: string }>>(odata('/locks', { $filter: `id ne '${lock.id}'`, $top: 1 }))).items[0]!.id;
    const none = ok(await get<KeysetPage>(odata('/entries', { $filter: `lock_id eq '${lock.id}' and lock_id eq '${other}'`, $inlinecount: 'allpages' })));
    expect(none).toEqual({ items: [], next_page_link: null, count: 0, continuation_token: null });
    const r = await get(odata('/entries', { $filter: `lock_id eq '${lock.id}' or lock_id eq '${other}'` }));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ ErrorCode: '1102' });
    expect(r.body.Message).toMatch(/Entries can be filtered by lock_id, .* utc_date_time \(ge, gt, le, lt\)/);
  });

  it('incidents: filters, one incident, acknowledging (twice is 409), and the acknowledged filter', async () => {
    const all = ok(await get<KeysetPage<Incident>>(odata('/incidents', { $top: 1000, $inlinecount: 'allpages' })));
    expect(all.count).toBeGreaterThan(0);
    const types = [...new Set(all.items.map((i) => i.incident_type))];
    let sum = 0;
    for (const t of types) {
      const page = ok(await get<KeysetPage<Incident>>(odata('/incidents', { $filter: `incident_type eq '${t}'`, $top: 1000, $count: 'true' })));
      expect(page.items.every((i) => i.incident_type === t)).toBe(true);
      sum += page.count!;
    }
    expect(sum).toBe(all.count);

    const open = async () => ok(await get<KeysetPage<Incident>>(odata('/incidents', { $filter: 'acknowledged eq false', $top: 1000, $inlinecount: 'allpages' })));
    const before = await open();
    const target = before.items[0]!;
    expect(ok(await get<Incident>(api(`/incidents/${target.id}`)))).toEqual(target);
    const acked = ok(await http<Incident>('PATCH', api(`/incidents/${target.id}`), { json: { acknowledged: true, comment: 'Checked: door closed' } }));
    expect(acked).toMatchObject({ id: target.id, acknowledged: true, acknowledged_by: 'owner', ack_comment: 'Checked: door closed' });
    expect(ok(await get<Incident>(api(`/incidents/${target.id}`)))).toEqual(acked);
    const again = await http('PATCH', api(`/incidents/${target.id}`), { json: { acknowledged: true } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ ErrorCode: '2203' });
    expect((await open()).count).toBe(before.count! - 1);
    const done = ok(await get<KeysetPage<Incident>>(odata('/incidents', { $filter: 'acknowledged eq true', $top: 1000 })));
    expect(done.items.map((i) => i.id)).toContain(target.id);
    expect(done.items.every((i) => i.acknowledged)).toBe(true);
  });

  async function download(query: Record<string, string>) {
    const res = await fetch(`${host.url}/api/export/entries?${new URLSearchParams(query).toString()}`, { headers: { authorization: `Bearer ${owner}` } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  it('export as CSV: a header row, one row per entry of the filter, oldest first, UTC and local times', async () => {
    const from = new Date(Date.now() + skew - 7 * 86_400_000).toISOString();
    const expected = ok(await get<KeysetPage>(odata('/entries', { $filter: `lock_id eq '${lock.id}' and utc_date_time ge DateTime'${from}'`, $top: 1000, $inlinecount: 'allpages' })));
    expect(expected.count).toBeGreaterThan(0);
    const r = await download({ lock_id: lock.id, from });
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="entries-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = r.text.trimEnd().split('\n');
    const header = lines[0]!.split(',');
    expect(header).toEqual(expect.arrayContaining(['id', 'utc_date_time', 'local_date_time', 'lock_id', 'user_id', 'platform_user_id']));
    expect(lines.length - 1).toBe(expected.count);
    const col = (name: string) => header.indexOf(name);
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.map((c) => c[col('id')])).toEqual(expected.items.map((e) => e.id).reverse());
    for (const c of rows) {
      expect(c[col('lock_id')]).toBe(lock.id);
      // The demo campus is in Europe/Amsterdam: local time is UTC plus one or two hours.
      const utc = Date.parse(c[col('utc_date_time')]!);
      const local = Date.parse(`${c[col('local_date_time')]}Z`);
      expect([3_600_000, 7_200_000]).toContain(local - utc);
    }
  });

  it('export as JSON lines: every line parses, in the same order; user_id takes either id', async () => {
    const opened = ok(await get<KeysetPage>(odata('/entries', { $filter: "event_category eq 'lock_opened' and access_by eq 'tag'", $top: 1 }))).items[0]!;
    const r = await download({ format: 'jsonl', user_id: opened.user_id! });
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-ndjson');
    expect(r.headers.get('content-disposition')).toMatch(/filename="entries-\d{4}-\d{2}-\d{2}\.jsonl"/);
    expect(r.text.endsWith('\n')).toBe(true);
    const rows = r.text.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; user_id: string; platform_user_id: string; utc_date_time: string });
    const count = ok(await get<KeysetPage>(odata('/entries', { $filter: `user_id eq '${opened.user_id}'`, $top: 1, $inlinecount: 'allpages' }))).count;
    expect(rows.length).toBe(count);
    expect(rows.every((e) => e.platform_user_id === opened.user_id && e.user_id === opened.site_user_id)).toBe(true);
    const times = rows.map((e) => e.utc_date_time);
    expect(times).toEqual([...times].sort());
    expect((await download({ format: 'jsonl', user_id: opened.site_user_id! })).text).toBe(r.text);
  });

  it('export: bad input is 400 with a CLP body and nothing streamed; an auditor may export, no token may not', async () => {
    const bad: Array<Record<string, string>> = [{ format: 'xlsx' }, { from: '2026-01-01' }, { lock_id: 'x'.repeat(65) }, { $top: '5' }, { from: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' }];
    for (const query of bad) {
      const r = await download(query);
      expect(r.status, JSON.stringify(query)).toBe(400);
      expect(JSON.parse(r.text), JSON.stringify(query)).toMatchObject({ ErrorCode: '1101' });
    }
    const auditor = ok(await passwordToken('auditor', 'demo-auditor-pass')).access_token as string;
    const res = await fetch(`${host.url}/api/export/entries?lock_id=${lock.id}&format=jsonl`, { headers: { authorization: `Bearer ${auditor}` } });
    expect(res.status).toBe(200);
    expect((await res.text()).trimEnd().split('\n').length).toBe(lockCount);
    const anonymous = await fetch(`${host.url}/api/export/entries`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ ErrorCode: '1500' });
  });
});

// These two move the service's clock; they run last.
describe('expiry and throttling', () => {
  it('an expired token is refused with 401 1500', async () => {
    const t = ok(await passwordToken('auditor', 'demo-auditor-pass')).access_token as string;
    ok(await get(api(''), t));
    skew += 3_599_000;
    ok(await get(api(''), t));
    skew += 2_000;
    const r = await get(api(''), t);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ ErrorCode: '1500' });
    expect(r.body.Message).toMatch(/expired/);
    owner = ok(await passwordToken('owner', OWNER_PASSWORD)).access_token as string;
    ok(await get(api('')));
  });

  it('five wrong passwords lock sign-in out: 429 with Retry-After', async () => {
    skew += 16 * 60_000; // past the window of any earlier failure
    for (let i = 0; i < 5; i++) {
      const r = await passwordToken('frontdesk', `wrong ${i}`);
      expect(r.status, `attempt ${i + 1}`).toBe(400);
    }
    const locked = await passwordToken('frontdesk', 'demo-frontdesk-pass');
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ error: 'slow_down', ErrorCode: '1500' });
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    skew += (retryAfter + 1) * 1000;
    ok(await passwordToken('frontdesk', 'demo-frontdesk-pass'));
  });
});
