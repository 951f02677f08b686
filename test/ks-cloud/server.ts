// A mock KS Connect cloud for tests, started by the tests themselves on 127.0.0.1, port 0: the
// identity server (/connect/token, /connect/authorize) and the site-scoped API (/v1.1/sites/...)
// in one node:http server, with seeded fault injection (faults.ts) and an in-memory store tests can
// change behind the API's back. docs/ks-cloud-mock.md describes it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockIdentity, type AuthConfig } from './auth.ts';
import { Faults, type Fault } from './faults.ts';
import { FilterError } from './filter.ts';
import { KsFail, route, type RouteAnswer } from './routes.ts';
import { newSite, type CloudSite, type Json } from './store.ts';

export interface KsCloudOptions {
  seed?: number;
  auth?: Partial<AuthConfig>;
  /** How long a record created through the API stays unknown to routes other than its list. */
  settleMs?: number;
  seats?: number;
  /** The IQ secret and PIN valid OTPs are made of (defaults 'mock-iq-secret', '1234'). */
  otpSecret?: string;
  otpPin?: string;
  now?: () => number;
}

export interface KsCloud {
  /** API base, e.g. http://127.0.0.1:5123 (the identity server answers on the same origin). */
  url: string;
  siteId: string;
  site: CloudSite;
  faults: Faults;
  identity: MockIdentity;
  auth: AuthConfig;
  /** Every API request that reached a route: method, route pattern, status ('dropped' when cut after commit). */
  log: { method: string; route: string; status: number | 'dropped' }[];
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, a: RouteAnswer): void {
  const headers: Record<string, string> = { ...a.headers };
  if (a.body === undefined) {
    res.writeHead(a.status, headers).end();
    return;
  }
  headers['content-type'] = 'application/json; charset=utf-8';
  res.writeHead(a.status, headers).end(JSON.stringify(a.body));
}

const fail = (status: number, code: string, message: string, headers?: Record<string, string>): RouteAnswer => ({ status, body: { ErrorCode: code, Message: message }, headers });

/** "/users/:id/subscription" from ["users", "<id>", "subscription"]: names at even places, ids at odd. */
const pattern = (segments: string[]) => '/' + segments.map((s, i) => (i % 2 === 1 ? ':id' : s)).join('/');

export async function startKsCloud(opts: KsCloudOptions = {}): Promise<KsCloud> {
  const now = opts.now ?? Date.now;
  const auth: AuthConfig = { clientId: 'gatehouse-test', clientSecret: 'secret', username: 'admin@example.com', password: 'pw', accessTokenLifetimeMs: 3_600_000, ...opts.auth };
  const identity = new MockIdentity(auth, now);
  const faults = new Faults(opts.seed ?? 1);
  const site = newSite({ seats: opts.seats, otpSecret: opts.otpSecret, otpPin: opts.otpPin });
  const sites = new Map([[site.site.id, site]]);
  const log: KsCloud['log'] = [];
  let base = '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    const text = await readBody(req);
    const parts = url.pathname.split('/').filter(Boolean);
    const isSite = parts[0] === 'v1.1' && parts[1] === 'sites' && parts[2] !== undefined;
    const name = isSite ? `${method} ${pattern(parts.slice(3))}` : `${method} ${url.pathname}`;
    const drawn = faults.draw(name);
    const has = <K extends Fault['kind']>(k: K) => drawn.find((f): f is Extract<Fault, { kind: K }> => f.kind === k);
    const latency = has('latency');
    if (latency) await new Promise((r) => setTimeout(r, latency.ms));
    const rateLimit = has('rate-limit');
    if (rateLimit) return send(res, fail(429, '429', 'Too many requests', { 'retry-after': String(rateLimit.retryAfterSeconds) }));
    if (has('error500')) return send(res, fail(500, '2201', 'Internal error'));

    if (url.pathname === '/connect/token' && method === 'POST') {
      const answer = identity.token(new URLSearchParams(text), req.headers.authorization);
      if (has('drop')) return void res.socket?.destroy();
      return send(res, answer);
    }
    if (url.pathname === '/connect/authorize' && method === 'GET') {
      const a = identity.authorize(url.searchParams);
      return send(res, a.location ? { status: a.status, headers: { location: a.location } } : { status: a.status, body: { error: a.body } });
    }
    if (!isSite) return send(res, fail(404, '1100', 'Unknown route'));

    const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : '';
    if (has('expire-token')) identity.expire(bearer);
    if (!identity.valid(bearer)) return send(res, fail(401, '1500', 'Unauthorized'));

    const siteId = parts[2]!;
    if (!UUID.test(siteId)) return send(res, fail(400, '1100', 'The request is invalid: site_id must be the site UUID'));
    const s = sites.get(siteId);
    if (!s) return send(res, fail(404, '2202', 'Site not found'));
    let body: Json = {};
    if (text !== '') {
      try {
        body = JSON.parse(text) as Json;
      } catch {
        return send(res, fail(400, '1100', 'The request body is not JSON'));
      }
    }
    let answer: RouteAnswer;
    try {
      answer = route(s, {
        method,
        segments: parts.slice(3),
        query: url.searchParams,
        headers: req.headers,
        body,
        url: `${base}${url.pathname}`,
        now: now(),
        duplicate: has('duplicate') !== undefined,
        settleMs: opts.settleMs ?? 0,
      });
    } catch (e) {
      if (e instanceof KsFail) answer = fail(e.status, e.code, e.message);
      else if (e instanceof FilterError) answer = fail(400, '1102', `The OData filter format is invalid: ${e.message}`);
      else throw e;
    }
    if (has('drop')) {
      log.push({ method, route: pattern(parts.slice(3)), status: 'dropped' });
      res.socket?.destroy();
      return;
    }
    log.push({ method, route: pattern(parts.slice(3)), status: answer.status });
    send(res, answer);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, fail(500, '2201', e instanceof Error ? e.message : String(e)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    siteId: site.site.id,
    site,
    faults,
    identity,
    auth,
    log,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
