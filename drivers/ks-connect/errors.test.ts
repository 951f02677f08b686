import { describe, expect, it } from 'vitest';
import { errorFromResponse, parseRetryAfter } from './errors.ts';

const req = { method: 'GET', url: 'https://ks/v2/sites/s/permissions' };
const headers = (h: Record<string, string> = {}) => ({ get: (n: string) => h[n] ?? null });

describe('errorFromResponse', () => {
  it('reads the v1.x {ErrorCode, Message} body', () => {
    const e = errorFromResponse(req, 404, '{"ErrorCode":"2202","Message":"User not found"}', headers(), 0);
    expect([e.status, e.errorCode, e.ksMessage, e.ambiguous]).toEqual([404, '2202', 'User not found', false]);
  });

  it('reads an RFC 7807 body from a v2 route, keeping the problem', () => {
    const e = errorFromResponse(req, 403, '{"type":"https://ks/forbidden","title":"Forbidden","status":403,"detail":"scope user_api.full_access required"}', headers(), 0);
    expect([e.errorCode, e.ksMessage, e.problem?.title]).toEqual(['403', 'scope user_api.full_access required', 'Forbidden']);
  });

  it('a 5xx is ambiguous (it may have been carried out) and carries Retry-After', () => {
    const e = errorFromResponse(req, 503, '<html>bad gateway</html>', headers({ 'retry-after': '3' }), 0);
    expect([e.errorCode, e.ambiguous, e.retryAfterMs]).toEqual(['503', true, 3000]);
  });

  it('Retry-After as an HTTP date counts from now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});
