// The Content-Security-Policy of the Gatehouse window: the same string the browser mode sends
// (UI_CSP in core/rest/ui.ts). Copied rather than imported because ui.ts imports @fastify/static, which
// has no place in main; test/electron/security.test.ts fails if the two drift apart.
// Naive UI injects its styles at run time, hence 'unsafe-inline' for styles only; scripts only from the
// app itself, no eval, no plugins, no framing.
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
