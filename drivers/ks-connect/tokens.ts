// Hands out a valid access token: refreshes ahead of expiry and after a 401, one refresh at a time
// however many calls are waiting, and keeps the store current. Sealing what is stored is the core's
// business; the client only sees this interface.
import { KsError } from './errors.ts';
import type { KsIdentity, TokenSet } from './identity.ts';

export interface TokenStore {
  load(): Promise<TokenSet | undefined>;
  save(tokens: TokenSet): Promise<void>;
}

export class MemoryTokenStore implements TokenStore {
  #tokens: TokenSet | undefined;
  constructor(initial?: TokenSet) {
    this.#tokens = initial;
  }
  async load(): Promise<TokenSet | undefined> {
    return this.#tokens;
  }
  async save(tokens: TokenSet): Promise<void> {
    this.#tokens = tokens;
  }
}

export interface TokenManagerOptions {
  /** Refresh this long before expiry, so a token does not die in flight. */
  skewMs?: number;
  now?: () => number;
}

export class TokenManager {
  readonly #identity: KsIdentity;
  readonly #store: TokenStore;
  readonly #skewMs: number;
  readonly #now: () => number;
  #refreshing: Promise<TokenSet> | undefined;

  constructor(identity: KsIdentity, store: TokenStore, opts: TokenManagerOptions = {}) {
    this.#identity = identity;
    this.#store = store;
    this.#skewMs = opts.skewMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Signs in with the password grant and stores the result. */
  async signInWithPassword(username: string, password: string): Promise<void> {
    await this.#store.save(await this.#identity.passwordGrant(username, password));
  }

  /** Stores the tokens of a finished authorization-code flow. */
  async signInWithCode(code: string, redirectUri: string, codeVerifier: string): Promise<void> {
    await this.#store.save(await this.#identity.exchangeCode(code, redirectUri, codeVerifier));
  }

  async accessToken(): Promise<string> {
    const tokens = await this.#store.load();
    if (tokens === undefined) throw notSignedIn();
    if (tokens.expiresAt - this.#skewMs > this.#now()) return tokens.accessToken;
    return (await this.refresh(tokens.accessToken)).accessToken;
  }

  /**
   * Replaces the access token `rejected` (the one a 401 came back for). Calls that failed with the
   * same token share one refresh; a call holding an older token just picks up the newer one.
   */
  async refresh(rejected: string): Promise<TokenSet> {
    if (this.#refreshing) return this.#refreshing;
    const current = await this.#store.load();
    if (current === undefined) throw notSignedIn();
    if (current.accessToken !== rejected && current.expiresAt - this.#skewMs > this.#now()) return current;
    if (current.refreshToken === undefined) throw notSignedIn('the access token expired and there is no refresh token (scope lacks offline_access)');
    const refreshToken = current.refreshToken;
    this.#refreshing = (async () => {
      try {
        const next = await this.#identity.refresh(refreshToken);
        // Servers that do not rotate refresh tokens omit it; keep the one we have.
        const kept = { ...next, refreshToken: next.refreshToken ?? refreshToken };
        await this.#store.save(kept);
        return kept;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }
}

function notSignedIn(why = 'no tokens stored: sign in first'): KsError {
  return new KsError({ status: 401, errorCode: '1500', message: why, method: 'AUTH', url: '(token store)' });
}
