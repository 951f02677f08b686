// The identity server's token endpoint (IdentityServer-style POST /connect/token, domain.md §1.3):
// the password grant for headless and test use, the authorization-code grant with PKCE for the
// desktop app, and refresh. Client credentials go in Basic auth, as KS documents.
import { errorFromResponse, networkError } from './errors.ts';

export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  /** Epoch ms after which the access token must not be used. */
  expiresAt: number;
  scope: string | undefined;
}

export interface IdentityOptions {
  /** e.g. https://identity.eu.my-clay.com */
  identityUrl: string;
  clientId: string;
  /** Absent for a public client (the desktop app with PKCE). */
  clientSecret?: string;
  /** `offline_access` is what earns a refresh token. */
  scope?: string;
  now?: () => number;
  fetch?: typeof fetch;
}

export const DEFAULT_SCOPE = 'user_api.full_access openid profile offline_access';

export class KsIdentity {
  readonly identityUrl: string;
  readonly clientId: string;
  readonly scope: string;
  readonly #secret: string | undefined;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;

  constructor(opts: IdentityOptions) {
    this.identityUrl = opts.identityUrl.replace(/\/+$/, '');
    this.clientId = opts.clientId;
    this.scope = opts.scope ?? DEFAULT_SCOPE;
    this.#secret = opts.clientSecret;
    this.#now = opts.now ?? Date.now;
    this.#fetch = opts.fetch ?? fetch;
  }

  passwordGrant(username: string, password: string): Promise<TokenSet> {
    return this.#token({ grant_type: 'password', username, password, scope: this.scope });
  }

  refresh(refreshToken: string): Promise<TokenSet> {
    return this.#token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  exchangeCode(code: string, redirectUri: string, codeVerifier: string): Promise<TokenSet> {
    return this.#token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier });
  }

  async #token(fields: Record<string, string>): Promise<TokenSet> {
    const url = `${this.identityUrl}/connect/token`;
    const form = new URLSearchParams(fields);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (this.#secret !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(this.clientId)}:${encodeURIComponent(this.#secret)}`).toString('base64')}`;
    } else {
      form.set('client_id', this.clientId);
    }
    const req = { method: 'POST', url };
    const asked = this.#now();
    let res: Response;
    try {
      res = await this.#fetch(url, { method: 'POST', headers, body: form.toString() });
    } catch (e) {
      throw networkError(req, e);
    }
    const text = await res.text();
    if (!res.ok) throw errorFromResponse(req, res.status, text, res.headers, this.#now());
    const body = JSON.parse(text) as { access_token: string; refresh_token?: string; expires_in: number; scope?: string };
    // Counted from when we asked, not when the answer arrived, so a slow answer cannot stretch a token's life.
    return { accessToken: body.access_token, refreshToken: body.refresh_token, expiresAt: asked + body.expires_in * 1000, scope: body.scope };
  }
}
