// app://gatehouse serves the built renderer and nothing else (electron/main/protocol.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UI_CSP } from '../../electron/main/csp.ts';
import { APP_SCHEME_PRIVILEGES, createAppProtocolHandler, resolveAppFile } from '../../electron/main/protocol.ts';

const base = mkdtempSync(join(tmpdir(), 'gh-app-protocol-'));
const dir = join(base, 'renderer');
mkdirSync(join(dir, 'assets'), { recursive: true });
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Gatehouse</title>');
writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
writeFileSync(join(base, 'secret.txt'), 'not for the page');
afterAll(() => rmSync(base, { recursive: true, force: true }));

const serve = createAppProtocolHandler(dir);

describe('the app:// scheme', () => {
  it('is registered as a standard, secure scheme without CSP bypass', () => {
    expect(APP_SCHEME_PRIVILEGES.scheme).toBe('app');
    expect(APP_SCHEME_PRIVILEGES.privileges).toMatchObject({ standard: true, secure: true });
    expect(APP_SCHEME_PRIVILEGES.privileges).not.toHaveProperty('bypassCSP');
  });

  it('serves the renderer with the policy and the right type', async () => {
    const res = await serve(new Request('app://gatehouse/index.html'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(UI_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('<title>Gatehouse</title>');

    const js = await serve(new Request('app://gatehouse/assets/index-abc.js'));
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await serve(new Request('app://gatehouse/'))).status).toBe(200);
  });

  // The URL parser already folds /../ into the path; what is left must still stay inside the folder.
  it.each([
    'app://gatehouse/../secret.txt',
    'app://gatehouse/%2e%2e/secret.txt',
    'app://gatehouse/assets/..%2f..%2fsecret.txt',
    'app://gatehouse/..%5csecret.txt',
    'app://gatehouse/index.html%00.js',
    'app://other/index.html',
  ])('never serves a file outside the renderer folder for %s', async (url) => {
    const file = resolveAppFile(dir, url);
    if (file !== null) expect(file.startsWith(dir + sep)).toBe(true);
    const res = await serve(new Request(url));
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('not for the page');
  });

  it.each(['app://gatehouse/assets/..%2f..%2fsecret.txt', 'app://gatehouse/..%5csecret.txt', 'app://other/index.html', 'app://user:pw@gatehouse/index.html', 'file:///etc/passwd', 'nonsense'])(
    'refuses to resolve %s at all',
    (url) => {
      expect(resolveAppFile(dir, url)).toBeNull();
    },
  );

  it('answers 404 for a missing file and 405 for anything but GET', async () => {
    expect((await serve(new Request('app://gatehouse/nope.js'))).status).toBe(404);
    expect((await serve(new Request('app://gatehouse/index.html', { method: 'POST', body: 'x' }))).status).toBe(405);
  });
});
