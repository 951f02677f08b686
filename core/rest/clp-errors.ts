// Contract errors as the CLP/KS API reports them: an HTTP status and {ErrorCode, Message}. Codes are
// CLP's published ones (see docs/api.md#errors): 1100 invalid request, 1101 invalid value, 1102 invalid
// OData filter, 1500 unauthorized, 2201 internal, 2202 not found, 2203 operation cannot be executed.
import type { ErrorBody, ErrorCode, ErrorIssue } from '../contract/errors.ts';

export interface ClpErrorBody {
  ErrorCode: string;
  Message: string;
  /** Gatehouse addition: every problem found, with where it was. */
  Errors?: ErrorIssue[];
}

const MAP: Record<ErrorCode, { status: number; code: string }> = {
  validation: { status: 400, code: '1101' },
  invalid_filter: { status: 400, code: '1102' },
  not_found: { status: 404, code: '2202' },
  conflict: { status: 409, code: '2203' },
  forbidden: { status: 403, code: '2203' },
  unauthenticated: { status: 401, code: '1500' },
  rate_limited: { status: 429, code: '1500' },
  unavailable: { status: 503, code: '2201' },
  internal: { status: 500, code: '2201' },
};

export function toClpError(e: ErrorBody): { status: number; body: ClpErrorBody } {
  const m = MAP[e.code];
  return { status: m.status, body: e.issues?.length ? { ErrorCode: m.code, Message: e.message, Errors: e.issues } : { ErrorCode: m.code, Message: e.message } };
}

export const invalidRequest = (message: string): { status: number; body: ClpErrorBody } => ({ status: 400, body: { ErrorCode: '1100', Message: message } });
