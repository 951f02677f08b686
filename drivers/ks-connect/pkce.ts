// The desktop app's sign-in: OAuth2 authorization code with PKCE (RFC 7636, S256) and a loopback
// redirect (RFC 8252 §7.3), as KS recommends for interactive clients (domain.md §1.3). The app opens
// authorizeUrl() in the system browser and waits on the loopback listener for the code.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PkcePair {
  verifier: string;
  challenge: string;
}

/** 32 random bytes as base64url: 43 characters, inside RFC 7636's 43..128 and its unreserved alphabet. */
export function createPkcePair(): PkcePair {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: s256Challenge(verifier) };
}

export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function authorizeUrl(opts: {
  identityUrl: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  state: string;
  scope: string;
}): string {
  const url = new URL(`${opts.identityUrl.replace(/\/+$/, '')}/connect/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: opts.clientId,
    redirect_uri: opts.redirectUri,
    scope: opts.scope,
    state: opts.state,
    code_challenge: opts.challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

export interface LoopbackRedirect {
  /** http://127.0.0.1:{port}/callback, to be used as redirect_uri. */
  redirectUri: string;
  /** The authorization code; rejects on an error redirect, a state mismatch or the timeout. */
  code: Promise<string>;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (an ephemeral port, as RFC 8252 allows loopback redirects to) for the one
 * redirect carrying the code. A wrong `state` is refused rather than ignored: it is either a stale
 * browser tab or someone else's code being planted.
 */
export async function listenForLoopbackRedirect(state: string, timeoutMs = 300_000): Promise<LoopbackRedirect> {
  let settle!: { resolve(code: string): void; reject(e: Error): void };
  const code = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // The caller may close without awaiting the code; that must not become an unhandled rejection.
  code.catch(() => undefined);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    const error = url.searchParams.get('error');
    const got = url.searchParams.get('code');
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    if (url.searchParams.get('state') !== state) {
      res.end('Sign-in failed: this answer does not belong to the sign-in Gatehouse started. Close this tab and try again.');
      settle.reject(new Error('Sign-in redirect with a wrong state'));
    } else if (error !== null || got === null) {
      res.end('Sign-in failed. You can close this tab.');
      settle.reject(new Error(`Sign-in refused: ${error ?? 'no code'}${url.searchParams.has('error_description') ? ` (${url.searchParams.get('error_description')})` : ''}`));
    } else {
      res.end('Signed in to the KS cloud. You can close this tab and return to Gatehouse.');
      settle.resolve(got);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const timer = setTimeout(() => settle.reject(new Error(`No sign-in redirect within ${timeoutMs} ms`)), timeoutMs);
  const close = async () => {
    clearTimeout(timer);
    settle.reject(new Error('Sign-in cancelled'));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  void code.finally(() => clearTimeout(timer)).catch(() => undefined);
  const { port } = server.address() as AddressInfo;
  return { redirectUri: `http://127.0.0.1:${port}/callback`, code, close };
}
