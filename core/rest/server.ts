// The HTTP face of the core: the CLP-compatible REST API (routes.ts), OAuth2-style tokens at
// /connect/token, a health check, and the contract itself at /api/rpc/{name} for Gatehouse's own UI in
// browser mode. Everything goes through GatehouseService, so roles, validation, transactions and the
// operator log are the same as in the desktop app.
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { GatehouseError } from '../contract/errors.ts';
import type { Actor } from '../service/actor.ts';
import type { GatehouseService } from '../service/service.ts';
import { schemaVersion } from '../store/db.ts';
import { getSite } from '../store/repos/site.ts';
import { registerBackupRoutes, type RestoreHandler } from './backup-routes.ts';
import { invalidRequest, toClpError } from './clp-errors.ts';
import type { Query } from './odata-input.ts';
import { ROUTES, type RestRequest } from './routes.ts';
import { registerEventSocket } from './events-socket.ts';
import { registerUi } from './ui.ts';

export interface RestServerOptions {
  service: GatehouseService;
  version: string;
  /** Called with request logs; fastify's own logger stays off. */
  log?: (line: string) => void;
  /** The built renderer (browser mode); not served when absent. */
  uiDir?: string;
  /** Swaps the live database for a checked backup (POST /api/restore); the host provides it. */
  onRestore?: RestoreHandler;
}

const API_PREFIXES = ['/v1.1', '/v1.2'];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function buildRestServer(opts: RestServerOptions): FastifyInstance {
  const { service } = opts;
  const app = Fastify({ logger: false, bodyLimit: 1_048_576, trustProxy: false });
  const startedAt = Date.now();

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onSend', async (_req, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Cache-Control', 'no-store');
  });
  if (opts.log) {
    const log = opts.log;
    app.addHook('onResponse', async (req, reply) => log(`${req.method} ${req.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms`));
  }

  app.setErrorHandler((err: unknown, _req, reply) => sendError(reply, err, service));
  registerEventSocket(app, service);
  const uiFallback = opts.uiDir ? registerUi(app, opts.uiDir) : null;
  app.setNotFoundHandler((req, reply) => {
    if (uiFallback?.(req, reply)) return;
    reply.code(404).send({ ErrorCode: '1100', Message: `No route ${req.method} ${req.url.split('?')[0]}` });
  });

  const actorOf = (req: FastifyRequest): Actor => {
    const h = req.headers.authorization;
    const token = h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
    const actor = token ? service.authenticate(token) : null;
    if (!actor) throw new GatehouseError('unauthenticated', token ? 'The access token is invalid or has expired' : 'Unauthorized: send Authorization: Bearer <token>');
    return actor;
  };

  const site = () => getSite(service.db.read)!;
  const checkSite = (siteId: string) => {
    if (!UUID_RE.test(siteId)) throw new GatehouseError('validation', `site_id must be the site's id (a UUID), not '${siteId}'`, [{ path: 'site_id', message: 'not a UUID' }]);
    if (siteId.toLowerCase() !== site().id.toLowerCase()) throw new GatehouseError('not_found', `Site '${siteId}' does not exist here`);
  };

  app.get('/api/health', async () => ({
    status: 'ok',
    version: opts.version,
    schema_version: schemaVersion(service.db.read),
    site_id: site().id,
    uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
  }));

  app.post('/connect/token', async (req, reply) => tokenEndpoint(service, req, reply));

  app.post<{ Params: { name: string } }>('/api/rpc/:name', { bodyLimit: 64 * 1_048_576 }, async (req) => {
    const actor = req.params.name === 'auth.login' || req.params.name === 'auth.client_token' ? null : actorOf(req);
    return { result: (await service.call(actor, req.params.name, req.body ?? {}, { ip: req.ip })) ?? null };
  });

  // Streams (contract `streams`): the same checks as the contract, then the body is streamed. Query
  // parameters are the stream's input fields.
  app.get('/api/export/entries', async (req, reply) => {
    const actor = actorOf(req);
    service.authorizeStream(actor, 'entries.export');
    const query = { ...(req.query as Query) };
    // As in /entries: the platform user id (KS) or the site-user id.
    if (typeof query.user_id === 'string' && query.user_id.length <= 64) query.user_id = resolveUserId(service, actor, query.user_id);
    const { input, chunks } = service.stream(actor, 'entries.export', query);
    // Pull the first chunk before answering, so that a failure still gets a CLP error and a status.
    const first = chunks.next();
    const csv = input.format === 'csv';
    const date = new Date(service.now()).toISOString().slice(0, 10);
    reply.header('Content-Type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    reply.header('Content-Disposition', `attachment; filename="entries-${date}.${csv ? 'csv' : 'jsonl'}"`);
    const body = Readable.from(
      (function* () {
        if (!first.done) yield first.value;
        yield* chunks;
      })(),
    );
    body.on('error', (e) => service.log('error', 'export of entries failed while streaming', e));
    return reply.send(body);
  });

  // The whole database: GET /api/backup, POST /api/restore (backup-routes.ts).
  registerBackupRoutes(app, { service, actorOf, onRestore: opts.onRestore });

  for (const prefix of API_PREFIXES) {
    app.get(`${prefix}/sites`, async (req) => {
      service.call(actorOf(req), 'site.get', {});
      return { items: [site()], next_page_link: null, count: 1 };
    });
    for (const route of ROUTES) {
      const url = `${prefix}/sites/:site_id${route.path}`;
      app.route({
        method: route.method,
        url,
        handler: async (req, reply) => {
          const actor = actorOf(req);
          const params = req.params as Record<string, string>;
          checkSite(params.site_id!);
          const restReq: RestRequest = {
            params,
            query: req.query as Query,
            headers: req.headers,
            body: req.body,
            baseUrl: `${req.protocol}://${req.host}${req.url.split('?')[0]}`,
            resolveUserId: (id) => resolveUserId(service, actor, id),
            read: (name, input) => service.call(actor, name, input, { ip: req.ip }) as never,
          };
          // The caller's permission first, as call() does: a refusal is not hidden behind bad input.
          service.authorize(actor, route.name);
          const input = route.input(restReq);
          const result = await service.call(actor, route.name, input, { ip: req.ip });
          const out = route.output ? route.output(result as never, restReq) : result;
          reply.code(route.status ?? 200);
          return route.status === 204 ? reply.send() : out;
        },
      });
    }
  }
  return app;
}

function resolveUserId(service: GatehouseService, actor: Actor, id: string): string {
  const page = service.call(actor, 'users.list', {
    filter: { op: 'or', args: [{ op: 'eq', field: 'id', value: id }, { op: 'eq', field: 'user_id', value: id }] },
    top: 1,
  }) as { items: Array<{ id: string }> };
  return page.items[0]?.id ?? id;
}

/** OAuth2 token endpoint: password grant for operators, client_credentials for integration clients. */
async function tokenEndpoint(service: GatehouseService, req: FastifyRequest, reply: FastifyReply) {
  const b = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, string | undefined>;
  const oauthError = (status: number, error: string, description: string, code: string) =>
    reply.code(status).send({ error, error_description: description, ErrorCode: code, Message: description });
  let clientId = b.client_id;
  let clientSecret = b.client_secret;
  const basic = req.headers.authorization?.startsWith('Basic ') ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString() : null;
  if (basic?.includes(':')) [clientId, clientSecret] = [basic.slice(0, basic.indexOf(':')), basic.slice(basic.indexOf(':') + 1)];
  try {
    if (b.grant_type === 'password') {
      if (!b.username || !b.password) return oauthError(400, 'invalid_request', 'username and password are required', '1100');
      const s = service.call(null, 'auth.login', { username: b.username, password: b.password, ttl_seconds: 3600 }, { ip: req.ip }) as { token: string };
      return { access_token: s.token, token_type: 'Bearer', expires_in: 3600, scope: 'user_api.full_access' };
    }
    if (b.grant_type === 'client_credentials') {
      if (!clientId || !clientSecret) return oauthError(400, 'invalid_request', 'client_id and client_secret are required', '1100');
      const s = service.call(null, 'auth.client_token', { client_id: clientId, client_secret: clientSecret, ttl_seconds: 3600 }, { ip: req.ip }) as { token: string };
      return { access_token: s.token, token_type: 'Bearer', expires_in: 3600, scope: 'user_api.full_access' };
    }
    return oauthError(400, 'unsupported_grant_type', `grant_type must be password or client_credentials${b.grant_type ? `, not '${b.grant_type}'` : ''}`, '1100');
  } catch (e) {
    if (e instanceof GatehouseError) {
      if (e.code === 'rate_limited') {
        reply.header('Retry-After', e.issues?.[0]?.message ?? '30');
        return oauthError(429, 'slow_down', e.message, '1500');
      }
      if (e.code === 'unauthenticated') return oauthError(b.grant_type === 'client_credentials' ? 401 : 400, b.grant_type === 'client_credentials' ? 'invalid_client' : 'invalid_grant', e.message, '1500');
      if (e.code === 'validation') return oauthError(400, 'invalid_request', e.message, '1100');
    }
    throw e;
  }
}

function sendError(reply: FastifyReply, err: unknown, service: GatehouseService) {
  // Bodies carry CLP's {ErrorCode, Message} and, for Gatehouse's own client, the contract's error.
  if (err instanceof GatehouseError) {
    const { status, body } = toClpError(err.toBody());
    if (err.code === 'rate_limited') reply.header('Retry-After', err.issues?.[0]?.message ?? '30');
    return reply.code(status).send({ ...body, error: err.toBody() });
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    const { body } = invalidRequest(e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? `The request body is not valid JSON: ${e.message}` : (e.message ?? 'Bad request'));
    return reply.code(e.statusCode).send({ ...body, error: { code: 'validation', message: body.Message } });
  }
  service.log('error', 'HTTP request failed', err);
  return reply.code(500).send({ ErrorCode: '2201', Message: 'Internal error; nothing was saved', error: { code: 'internal', message: 'Internal error; nothing was saved' } });
}
