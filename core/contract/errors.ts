// Errors that cross the contract: a stable code, a human message, and details a UI can point at.
// They travel as plain objects (never Error instances) between processes.
export const ERROR_CODES = [
  'validation',
  'invalid_filter',
  'not_found',
  'conflict',
  'forbidden',
  'unauthenticated',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorIssue {
  /** Where in the input, e.g. "time_schedules.0.end_time" or "line 4, column email". */
  path: string;
  message: string;
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  issues?: ErrorIssue[];
}

export class GatehouseError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: ErrorIssue[],
  ) {
    super(message);
    this.name = 'GatehouseError';
  }

  toBody(): ErrorBody {
    return this.issues ? { code: this.code, message: this.message, issues: this.issues } : { code: this.code, message: this.message };
  }

  static fromBody(body: ErrorBody): GatehouseError {
    return new GatehouseError(body.code, body.message, body.issues);
  }
}

export const notFound = (what: string, id: string) => new GatehouseError('not_found', `${what} '${id}' does not exist`);
export const conflict = (message: string, issues?: ErrorIssue[]) => new GatehouseError('conflict', message, issues);
export const invalid = (message: string, issues?: ErrorIssue[]) => new GatehouseError('validation', message, issues);
