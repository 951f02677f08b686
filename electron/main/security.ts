// The window's and the session's lockdown (docs/desktop.md, "Security checklist"): the page may not
// navigate anywhere or open windows, may not load anything remote, gets no permission, and every
// response carries the Content-Security-Policy. External https links go to the OS browser.
import { shell, type Session, type WebContents } from 'electron';
import { UI_CSP } from './csp.ts';
import type { Logger } from './log.ts';
import { APP_HOST, APP_SCHEME } from './protocol.ts';

/** Where the window's own pages come from: app://gatehouse, or the Vite dev server (devOrigin) in development. */
export function isAppUrl(url: string, devOrigin: string | null): boolean {
  const u = parse(url);
  if (!u) return false;
  if (u.protocol === `${APP_SCHEME}:`) return u.host === APP_HOST;
  return devOrigin !== null && (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === devOrigin;
}

/** A link that may be handed to the OS browser: https only, a host, no credentials in it. */
export function isSafeExternalUrl(url: string): boolean {
  const u = parse(url);
  return !!u && u.protocol === 'https:' && u.hostname !== '' && !u.username && !u.password && url.length <= 2048;
}

/**
 * Requests the session lets through: the app's own scheme and in-page data, and in development the
 * Vite dev server (its page and its hot-reload socket). Anything remote is cancelled.
 */
export function isAllowedRequest(url: string, devOrigin: string | null): boolean {
  const u = parse(url);
  if (!u) return false;
  if (u.protocol === `${APP_SCHEME}:`) return u.host === APP_HOST;
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'devtools:') return true;
  if (!devOrigin) return false;
  const dev = new URL(devOrigin);
  if (u.protocol === 'http:' || u.protocol === 'https:') return u.origin === dev.origin;
  if (u.protocol === 'ws:' || u.protocol === 'wss:') return u.host === dev.host;
  return false;
}

export function openExternalIfSafe(url: string, log: Logger): void {
  if (!isSafeExternalUrl(url)) {
    log.warn(`security: refused to open ${truncate(url)}`);
    return;
  }
  shell.openExternal(url).catch((e: Error) => log.warn(`security: could not open ${truncate(url)}: ${e.message}`));
}

/**
 * For every webContents (app.on('web-contents-created')): no navigation away from the loaded page, no
 * new windows, no <webview>. A navigation or window.open to an https link opens it in the OS browser.
 */
export function hardenWebContents(contents: WebContents, log: Logger): void {
  const refuse = (what: string) => (event: { preventDefault(): void }, url: string) => {
    event.preventDefault();
    log.warn(`security: blocked ${what} to ${truncate(url)}`);
    openExternalIfSafe(url, log);
  };
  contents.on('will-navigate', refuse('navigation'));
  contents.on('will-frame-navigate', (event) => {
    if (event.isMainFrame) return; // will-navigate has it
    event.preventDefault();
    log.warn(`security: blocked a frame navigation to ${truncate(event.url)}`);
  });
  contents.on('will-redirect', (event, url) => {
    event.preventDefault();
    log.warn(`security: blocked a redirect to ${truncate(url)}`);
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log.warn('security: blocked a <webview>');
  });
  contents.setWindowOpenHandler(({ url }) => {
    log.warn(`security: blocked window.open of ${truncate(url)}`);
    openExternalIfSafe(url, log);
    return { action: 'deny' };
  });
}

/**
 * The window's session: every permission refused (the app needs none: the USB encoder and the IQ hubs
 * are driven by the core process, not by WebUSB/WebHID), remote requests cancelled, and the
 * Content-Security-Policy on every response (app:// answers carry it too, see protocol.ts).
 */
export function hardenSession(ses: Session, o: { devOrigin: string | null; log: Logger }): void {
  ses.setPermissionRequestHandler((_contents, permission, callback) => {
    o.log.warn(`security: refused permission '${permission}'`);
    callback(false);
  });
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  ses.webRequest.onBeforeRequest({ urls: ['<all_urls>'] }, (details, callback) => {
    const allowed = isAllowedRequest(details.url, o.devOrigin);
    if (!allowed) o.log.warn(`security: cancelled a request to ${truncate(details.url)}`);
    callback({ cancel: !allowed });
  });
  ses.webRequest.onHeadersReceived({ urls: ['<all_urls>'] }, (details, callback) => {
    callback({ responseHeaders: withCsp(details.responseHeaders ?? {}) });
  });
}

/** The response headers with our Content-Security-Policy in place of any the server sent. */
export function withCsp(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'content-security-policy') out[k] = v;
  out['Content-Security-Policy'] = [UI_CSP];
  return out;
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

function truncate(url: string): string {
  return url.length > 200 ? `${url.slice(0, 200)}…` : url;
}
