// KS Connect (SALTO KS / CLP cloud) client: sign-in, typed site calls, paging, retries and
// create-once. An adapter to an external system; the core's sync engine drives it through a port.
export { collect, KsConnectClient, type CreatedUser, type KsConnectClientOptions, type ListOptions } from './client.ts';
export { KsError, type KsProblem } from './errors.ts';
export { KsHttp, type KsHttpOptions, type Method, type RequestOptions } from './http.ts';
export { DEFAULT_SCOPE, KsIdentity, type IdentityOptions, type TokenSet } from './identity.ts';
export { computeOtp, otpTimestamp } from './otp.ts';
export { createOnce, type CreateOnce, type CreateOutcome } from './idempotent-create.ts';
export { and, eq, formatFilter, ge, gt, le, lt, ne, or, type ODataFilter, type ODataValue } from './odata.ts';
export { authorizeUrl, createPkcePair, listenForLoopbackRedirect, s256Challenge, type LoopbackRedirect, type PkcePair } from './pkce.ts';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
export { MemoryTokenStore, TokenManager, type TokenManagerOptions, type TokenStore } from './tokens.ts';
export type * from './types.ts';
