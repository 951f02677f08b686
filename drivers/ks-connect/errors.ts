// Every failure the client reports is a KsError, whatever shape the cloud answered in: KS Connect v1.x
// sends {ErrorCode, Message}, v2 routes send RFC 7807 problem+json, the identity server sends OAuth2's
// {error, error_description}, and a dropped connection sends nothing at all. Callers decide on
// `status`, `errorCode` and `ambiguous`, never on message text.

export interface KsProblem {
  type?: string;
  title?: string;
  detail?: string;
  instance?: string;
}

export class KsError extends Error {
  override readonly name = 'KsError';
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** KS ErrorCode ('2202', '1102', ...), the OAuth2 `error` on the identity server, or 'network'. */
  readonly errorCode: string;
  /** The RFC 7807 body when a v2 route answered with one. */
  readonly problem: KsProblem | undefined;
  /** Retry-After in ms when the cloud sent one. */
  readonly retryAfterMs: number | undefined;
  /**
   * True when the request may have been carried out although no answer said so (the connection
   * dropped after sending, or a 5xx from a proxy): a create must be looked up before it is repeated.
   */
  readonly ambiguous: boolean;
  readonly method: string;
  readonly url: string;
  /** The cloud's own words, without the request line. */
  readonly ksMessage: string;

  constructor(init: {
    status: number;
    errorCode: string;
    message: string;
    method: string;
    url: string;
    problem?: KsProblem;
    retryAfterMs?: number;
    ambiguous?: boolean;
    cause?: unknown;
  }) {
    super(`${init.method} ${init.url}: ${init.status === 0 ? 'no response' : init.status} ${init.errorCode}: ${init.message}`, { cause: init.cause });
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.problem = init.problem;
    this.retryAfterMs = init.retryAfterMs;
    this.ambiguous = init.ambiguous ?? false;
    this.method = init.method;
    this.url = init.url;
    this.ksMessage = init.message;
  }

}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Builds the KsError for an HTTP answer that was not a success. */
export function errorFromResponse(
  req: { method: string; url: string },
  status: number,
  bodyText: string,
  headers: { get(name: string): string | null },
  now: number,
): KsError {
  let body: unknown;
  try {
    body = bodyText === '' ? undefined : JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), now);
  const base = { ...req, status, retryAfterMs, ambiguous: status >= 500 };
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    const code = str(b.ErrorCode);
    if (code !== undefined) return new KsError({ ...base, errorCode: code, message: str(b.Message) ?? '' });
    const oauth = str(b.error);
    if (oauth !== undefined) return new KsError({ ...base, errorCode: oauth, message: str(b.error_description) ?? oauth });
    if (str(b.title) !== undefined || str(b.type) !== undefined) {
      const problem: KsProblem = { type: str(b.type), title: str(b.title), detail: str(b.detail), instance: str(b.instance) };
      // Problem bodies carry no KS code; some put one in an extension member, else the status stands in.
      const ext = str(b.errorCode) ?? str(b.ErrorCode) ?? String(status);
      return new KsError({ ...base, errorCode: ext, message: problem.detail ?? problem.title ?? '', problem });
    }
  }
  return new KsError({ ...base, errorCode: String(status), message: bodyText.slice(0, 200) || `HTTP ${status}` });
}

export function networkError(req: { method: string; url: string }, cause: unknown): KsError {
  const reason = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
  return new KsError({ ...req, status: 0, errorCode: 'network', message: reason, ambiguous: true, cause });
}
