// Serving the built renderer (browser mode): static files with a strict Content-Security-Policy, and
// index.html for any other GET that is not an API path, so the UI's own routes survive a reload.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Naive UI injects its styles at run time, hence 'unsafe-inline' for styles only. */
export const UI_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const API_PATH = /^\/(api|v1\.\d|connect)(\/|$)/;

export function registerUi(app: FastifyInstance, uiDir: string): ((req: FastifyRequest, reply: FastifyReply) => boolean) | null {
  const indexFile = join(uiDir, 'index.html');
  if (!existsSync(indexFile)) return null;
  const index = readFileSync(indexFile, 'utf8');
  app.register(fastifyStatic, { root: uiDir, prefix: '/', wildcard: false, index: false, cacheControl: false });
  app.addHook('onSend', async (req, reply) => {
    if (!API_PATH.test(req.url)) {
      reply.header('Content-Security-Policy', UI_CSP);
      reply.header('X-Frame-Options', 'DENY');
      reply.header('Referrer-Policy', 'no-referrer');
    }
  });
  app.get('/', (_req, reply) => reply.type('text/html; charset=utf-8').send(index));
  // The fallback for client-side routes; the caller's not-found handler asks first.
  return (req, reply) => {
    if (req.method !== 'GET' || API_PATH.test(req.url)) return false;
    reply.type('text/html; charset=utf-8').send(index);
    return true;
  };
}
