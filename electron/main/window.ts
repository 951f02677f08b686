// The Gatehouse window: one BrowserWindow, sandboxed and context-isolated, with the preload as its only
// bridge to main. Navigation, new windows and permissions are locked down by security.ts for every
// webContents; this file only decides how the window is made and what it loads.
import { BrowserWindow, type WebPreferences } from 'electron';
import { APP_INDEX_URL } from './protocol.ts';

/** Electron's security checklist, spelled out even where it is the default so that a change is visible. */
export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  experimentalFeatures: false,
  navigateOnDragDrop: false,
  safeDialogs: true,
  spellcheck: false,
} as const satisfies WebPreferences;

export interface WindowOptions {
  /** The built preload (out/electron/preload/index.cjs). */
  preload: string;
  /** The Vite dev server in development; the app:// page otherwise. */
  devUrl: string | null;
  devTools: boolean;
  onLoadFailed: (error: Error) => void;
}

export function createMainWindow(o: WindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    title: 'Gatehouse',
    width: 1280,
    height: 860,
    minWidth: 960,
    minHeight: 600,
    show: false,
    backgroundColor: '#ffffff',
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload: o.preload, devTools: o.devTools },
  });
  win.once('ready-to-show', () => win.show());
  win.loadURL(o.devUrl ?? APP_INDEX_URL).catch(o.onLoadFailed);
  return win;
}

/** Brings an existing window to the front (a second launch of the app lands here). */
export function focusWindow(win: BrowserWindow | null): void {
  if (!win || win.isDestroyed()) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}
