// One request to KS Connect, carried through the things that go wrong on the way: a token that
// expired (refresh once, ask again), 429 and 5xx (backoff, retry.ts), 2202/2203 while the cloud
// settles after a create, and a connection that drops. Whatever is left is thrown as a KsError.
import { errorFromResponse, KsError, networkError } from './errors.ts';
import { DEFAULT_RETRY, retryVerdict, type RetryPolicy } from './retry.ts';
import type { TokenManager } from './tokens.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Whether repeating the request after a lost answer is harmless. Defaults to true for everything
   * but POST; a POST that creates something is made safe by idempotent-create.ts instead.
   */
  replayable?: boolean;
  /** The call touches a record created moments ago, so 2202/2203 may mean "not yet" (domain.md §1.9). */
  afterCreate?: boolean;
}

export interface KsResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

export interface KsHttpOptions {
  /** e.g. https://user.my-clay.com */
  baseUrl: string;
  tokens: TokenManager;
  retry?: Partial<RetryPolicy>;
  /** Per-attempt timeout; a timeout counts as a dropped answer. */
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

export class KsHttp {
  readonly baseUrl: string;
  readonly retry: RetryPolicy;
  readonly #tokens: TokenManager;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;

  constructor(opts: KsHttpOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.#tokens = opts.tokens;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#now = opts.now ?? Date.now;
    this.#fetch = opts.fetch ?? fetch;
  }

  /** `pathOrUrl` is a path under baseUrl, or a full URL such as a next_page_link. */
  async request<T>(method: Method, pathOrUrl: string, opts: RequestOptions = {}): Promise<KsResponse<T>> {
    const url = new URL(/^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const replayable = opts.replayable ?? method !== 'POST';
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.#tokens.accessToken();
      try {
        return await this.#once<T>(method, url.toString(), token, opts);
      } catch (e) {
        if (!(e instanceof KsError)) throw e;
        // One refresh per call: a second 401 with a fresh token means no access, not an old token.
        if (e.status === 401 && !refreshed) {
          refreshed = true;
          await this.#tokens.refresh(token);
          attempt--;
          continue;
        }
        const verdict = retryVerdict(e, attempt, this.retry, { replayable, afterCreate: opts.afterCreate ?? false });
        if (!verdict.retry) throw e;
        await this.retry.sleep(verdict.delayMs);
      }
    }
  }

  async #once<T>(method: Method, url: string, token: string, opts: RequestOptions): Promise<KsResponse<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json', ...opts.headers };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(opts.body);
    }
    const req = { method, url };
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(this.#timeoutMs) });
      text = await res.text();
    } catch (e) {
      throw networkError(req, e);
    }
    if (res.status >= 400) throw errorFromResponse(req, res.status, text, res.headers, this.#now());
    // 202/204 carry no body (DELETE /users answers 202, domain.md §1.9).
    const body = (text === '' ? undefined : JSON.parse(text)) as T;
    return { status: res.status, body, headers: res.headers };
  }
}
