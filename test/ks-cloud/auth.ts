// The mock identity server: POST /connect/token for the password, refresh_token and
// authorization_code (PKCE S256) grants, GET /connect/authorize that approves at once for a set
// account (no login page: a test plays the browser), and opaque access tokens that expire.
import { createHash, randomBytes } from 'node:crypto';

export interface AuthConfig {
  clientId: string;
  /** Absent for a public client (PKCE only). */
  clientSecret?: string;
  username: string;
  password: string;
  accessTokenLifetimeMs: number;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
}

export type TokenAnswer = { status: number; body: Record<string, unknown> };

const oauthError = (status: number, error: string, description: string): TokenAnswer => ({ status, body: { error, error_description: description } });

export class MockIdentity {
  readonly #config: AuthConfig;
  readonly #now: () => number;
  readonly #access = new Map<string, number>();
  readonly #refresh = new Set<string>();
  readonly #codes = new Map<string, Grant>();
  /** Grant types asked for, in order, so tests can see a refresh really happened. */
  readonly grants: string[] = [];

  constructor(config: AuthConfig, now: () => number) {
    this.#config = config;
    this.#now = now;
  }

  /** True when `token` is a live access token. */
  valid(token: string): boolean {
    const exp = this.#access.get(token);
    return exp !== undefined && exp > this.#now();
  }

  /** Ends an access token early, as the expired-token fault does. */
  expire(token: string): void {
    this.#access.delete(token);
  }

  authorize(q: URLSearchParams): { status: number; location?: string; body?: string } {
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== this.#config.clientId || !redirectUri) return { status: 400, body: 'unknown client or no redirect_uri' };
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const challenge = q.get('code_challenge');
    if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !challenge) {
      back.searchParams.set('error', 'invalid_request');
      back.searchParams.set('error_description', 'code flow with an S256 code_challenge is required');
      return { status: 302, location: back.toString() };
    }
    const code = randomBytes(16).toString('hex');
    this.#codes.set(code, { clientId: this.#config.clientId, redirectUri, challenge, scope: q.get('scope') ?? '' });
    back.searchParams.set('code', code);
    return { status: 302, location: back.toString() };
  }

  token(form: URLSearchParams, authorization: string | undefined): TokenAnswer {
    const client = this.#client(form, authorization);
    if (client !== true) return client;
    const grant = form.get('grant_type') ?? '';
    this.grants.push(grant);
    switch (grant) {
      case 'password':
        if (form.get('username') !== this.#config.username || form.get('password') !== this.#config.password) {
          return oauthError(400, 'invalid_grant', 'invalid_username_or_password');
        }
        return this.#issue(form.get('scope') ?? '');
      case 'refresh_token': {
        const rt = form.get('refresh_token') ?? '';
        if (!this.#refresh.delete(rt)) return oauthError(400, 'invalid_grant', 'unknown or used refresh token');
        return this.#issue('user_api.full_access offline_access');
      }
      case 'authorization_code': {
        const g = this.#codes.get(form.get('code') ?? '');
        // A code is good for one exchange, whether or not that exchange succeeds (RFC 6749 §4.1.2).
        this.#codes.delete(form.get('code') ?? '');
        if (!g) return oauthError(400, 'invalid_grant', 'unknown or used code');
        if (form.get('redirect_uri') !== g.redirectUri) return oauthError(400, 'invalid_grant', 'redirect_uri differs from the authorize request');
        const verifier = form.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier, 'ascii').digest('base64url') !== g.challenge) {
          return oauthError(400, 'invalid_grant', 'code_verifier does not match the code_challenge');
        }
        return this.#issue(g.scope);
      }
      default:
        return oauthError(400, 'unsupported_grant_type', grant);
    }
  }

  #client(form: URLSearchParams, authorization: string | undefined): true | TokenAnswer {
    let id = form.get('client_id');
    let secret: string | undefined;
    if (authorization?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(authorization.slice(6), 'base64').toString().split(':');
      id = decodeURIComponent(u ?? '');
      secret = decodeURIComponent(p ?? '');
    }
    if (id !== this.#config.clientId) return oauthError(401, 'invalid_client', 'unknown client');
    if (this.#config.clientSecret !== undefined && secret !== this.#config.clientSecret) return oauthError(401, 'invalid_client', 'bad client secret');
    return true;
  }

  #issue(scope: string): TokenAnswer {
    const access = randomBytes(24).toString('base64url');
    this.#access.set(access, this.#now() + this.#config.accessTokenLifetimeMs);
    const body: Record<string, unknown> = {
      access_token: access,
      token_type: 'Bearer',
      expires_in: Math.max(1, Math.round(this.#config.accessTokenLifetimeMs / 1000)),
      scope: scope || 'user_api.full_access',
    };
    if (scope.split(' ').includes('offline_access')) {
      const refresh = randomBytes(24).toString('base64url');
      this.#refresh.add(refresh);
      body.refresh_token = refresh;
    }
    return { status: 200, body };
  }
}
