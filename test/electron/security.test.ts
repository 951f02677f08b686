// The window's lockdown (electron/main/security.ts, csp.ts) against a fake Electron: navigation,
// window.open, <webview>, permissions, remote requests and the Content-Security-Policy.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { shell } from 'electron';
import type { Session, WebContents } from 'electron';
import { UI_CSP as BROWSER_CSP } from '../../core/rest/ui.ts';
import { UI_CSP } from '../../electron/main/csp.ts';
import { hardenSession, hardenWebContents, isAllowedRequest, isAppUrl, isSafeExternalUrl, withCsp } from '../../electron/main/security.ts';
import { FakeSession, FakeWebContents, memoryLog } from './fake-electron.ts';

vi.mock('electron', async () => (await import('./fake-electron.ts')).createFakeElectron());

const DEV = 'http://localhost:5173';

function event() {
  return { preventDefault: vi.fn() };
}

beforeEach(() => {
  vi.mocked(shell.openExternal).mockClear();
});

describe('the Content-Security-Policy', () => {
  it('is the browser mode policy, character for character', () => {
    expect(UI_CSP).toBe(BROWSER_CSP);
  });

  it('allows scripts only from the app: no inline scripts, no eval, no plugins, no framing', () => {
    const directives = Object.fromEntries(UI_CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(UI_CSP).not.toContain('unsafe-eval');
  });

  it('replaces any policy a response brings', () => {
    const out = withCsp({ 'content-security-policy': ["default-src *"], 'Content-Type': ['text/html'] });
    expect(out).toEqual({ 'Content-Type': ['text/html'], 'Content-Security-Policy': [UI_CSP] });
  });
});

describe('URL checks', () => {
  it('knows the app origin, and the dev server only in development', () => {
    expect(isAppUrl('app://gatehouse/index.html', null)).toBe(true);
    expect(isAppUrl('app://gatehouse/#/people', null)).toBe(true);
    expect(isAppUrl('app://evil/index.html', null)).toBe(false);
    expect(isAppUrl('file:///etc/passwd', null)).toBe(false);
    expect(isAppUrl(`${DEV}/`, null)).toBe(false);
    expect(isAppUrl(`${DEV}/`, DEV)).toBe(true);
    expect(isAppUrl('http://localhost:5174/', DEV)).toBe(false);
    expect(isAppUrl('not a url', DEV)).toBe(false);
  });

  it('hands only plain https links to the OS browser', () => {
    expect(isSafeExternalUrl('https://example.com/docs')).toBe(true);
    for (const url of ['http://example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'smb://server/share', 'https://user:pw@example.com/', 'ms-settings:', '']) {
      expect(isSafeExternalUrl(url), url).toBe(false);
    }
  });

  it('lets no remote request through', () => {
    expect(isAllowedRequest('app://gatehouse/assets/index.js', null)).toBe(true);
    expect(isAllowedRequest('data:image/png;base64,AAAA', null)).toBe(true);
    expect(isAllowedRequest('devtools://devtools/bundled/inspector.html', null)).toBe(true);
    for (const url of ['https://example.com/x.js', 'http://127.0.0.1:7373/api/rpc/site.get', 'ws://127.0.0.1:7373/api/events', 'file:///etc/passwd', 'app://other/x']) {
      expect(isAllowedRequest(url, null), url).toBe(false);
    }
    expect(isAllowedRequest(`${DEV}/src/main.ts`, DEV)).toBe(true);
    expect(isAllowedRequest('ws://localhost:5173/', DEV)).toBe(true);
    expect(isAllowedRequest('https://example.com/', DEV)).toBe(false);
  });
});

describe('every webContents is locked down', () => {
  function hardened() {
    const contents = new FakeWebContents();
    const log = memoryLog();
    hardenWebContents(contents as unknown as WebContents, log);
    return { contents, log };
  }

  it('denies navigation, and opens an https target in the OS browser instead', () => {
    const { contents, log } = hardened();
    const e1 = event();
    contents.emit('will-navigate', e1, 'https://example.com/help');
    expect(e1.preventDefault).toHaveBeenCalled();
    expect(shell.openExternal).toHaveBeenCalledWith('https://example.com/help');

    const e2 = event();
    contents.emit('will-navigate', e2, 'file:///etc/passwd');
    expect(e2.preventDefault).toHaveBeenCalled();
    expect(shell.openExternal).toHaveBeenCalledTimes(1);
    expect(log.lines.some((l) => l.includes('blocked navigation'))).toBe(true);
  });

  it('denies navigation even to its own origin (the UI routes inside the page)', () => {
    const { contents } = hardened();
    const e = event();
    contents.emit('will-navigate', e, 'app://gatehouse/index.html');
    expect(e.preventDefault).toHaveBeenCalled();
    expect(shell.openExternal).not.toHaveBeenCalled();
  });

  it('denies every window.open', () => {
    const { contents } = hardened();
    expect(contents.windowOpenHandler?.({ url: 'app://gatehouse/index.html' })).toEqual({ action: 'deny' });
    expect(contents.windowOpenHandler?.({ url: 'javascript:alert(1)' })).toEqual({ action: 'deny' });
    expect(shell.openExternal).not.toHaveBeenCalled();
    expect(contents.windowOpenHandler?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(shell.openExternal).toHaveBeenCalledWith('https://example.com/');
  });

  it('denies frame navigations, redirects and <webview>', () => {
    const { contents } = hardened();
    const frame = { ...event(), isMainFrame: false, url: 'https://example.com/' };
    contents.emit('will-frame-navigate', frame);
    expect(frame.preventDefault).toHaveBeenCalled();
    const redirect = event();
    contents.emit('will-redirect', redirect, 'https://example.com/');
    expect(redirect.preventDefault).toHaveBeenCalled();
    const webview = event();
    contents.emit('will-attach-webview', webview, {}, {});
    expect(webview.preventDefault).toHaveBeenCalled();
  });
});

describe('the session', () => {
  function hardened(devOrigin: string | null = null) {
    const ses = new FakeSession();
    const log = memoryLog();
    hardenSession(ses as unknown as Session, { devOrigin, log });
    return { ses, log };
  }

  it.each(['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen', 'unknown'])('refuses the %s permission', (permission) => {
    const { ses } = hardened();
    const callback = vi.fn();
    ses.permissionRequestHandler?.({}, permission, callback, {});
    expect(callback).toHaveBeenCalledWith(false);
    expect(ses.permissionCheckHandler?.({}, permission, 'app://gatehouse', {})).toBe(false);
  });

  it('refuses device access (WebUSB, WebHID, Web Serial)', () => {
    const { ses } = hardened();
    for (const deviceType of ['usb', 'hid', 'serial']) expect(ses.devicePermissionHandler?.({ deviceType, origin: 'app://gatehouse' })).toBe(false);
  });

  it('cancels remote requests and lets the app through', () => {
    const { ses } = hardened();
    const answer = (url: string) => {
      const callback = vi.fn();
      ses.beforeRequest?.({ url }, callback);
      return callback.mock.calls[0]?.[0] as { cancel: boolean };
    };
    expect(answer('https://cdn.example.com/lib.js')).toEqual({ cancel: true });
    expect(answer('app://gatehouse/assets/index.js')).toEqual({ cancel: false });
  });

  it('puts the policy on every response', () => {
    const { ses } = hardened(DEV);
    const callback = vi.fn();
    ses.headersReceived?.({ url: `${DEV}/`, responseHeaders: { 'Content-Type': ['text/html'] } }, callback);
    expect(callback).toHaveBeenCalledWith({ responseHeaders: { 'Content-Type': ['text/html'], 'Content-Security-Policy': [UI_CSP] } });
  });
});
