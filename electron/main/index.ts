// Gatehouse's desktop shell, main process (docs/desktop.md). A thin router: it owns the window and the
// app:// origin, starts the core in a utility process (core-client.ts → core-process.ts), and relays
// validated IPC between the two (ipc.ts). It never opens the database itself.
import { join } from 'node:path';
import { app, BrowserWindow, clipboard, dialog, ipcMain, protocol, safeStorage, session } from 'electron';
import { CoreClient } from './core-client.ts';
import { registerIpc } from './ipc.ts';
import { createLogger, logFileIn } from './log.ts';
import { loadDesktopMasterKey } from './master-key.ts';
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, createAppProtocolHandler } from './protocol.ts';
import { hardenSession, hardenWebContents } from './security.ts';
import { createMainWindow, focusWindow } from './window.ts';

export const APP_ID = 'app.gatehouse.desktop';
export const PRODUCT_NAME = 'Gatehouse';

/** Where the built pieces sit next to this file (out/electron/main/index.js). */
export function builtPaths(mainDir: string) {
  return {
    preload: join(mainDir, '../preload/index.cjs'),
    rendererDir: join(mainDir, '../renderer'),
    coreProcess: join(mainDir, 'core-process.js'),
  };
}

export function main(): void {
  // <appData>/Gatehouse whether packaged or not (unpackaged, Electron would name it after package.json:
  // "gatehouse"); GATEHOUSE_USER_DATA_DIR puts it elsewhere (tests, portable installs).
  app.setPath('userData', process.env.GATEHOUSE_USER_DATA_DIR || join(app.getPath('appData'), PRODUCT_NAME));
  const log = createLogger(logFileIn(app.getPath('userData')), { echo: app.isPackaged ? undefined : (line) => console.log(line) });
  const paths = builtPaths(import.meta.dirname);
  const devUrl = !app.isPackaged && process.env.ELECTRON_RENDERER_URL ? process.env.ELECTRON_RENDERER_URL : null;
  const devOrigin = devUrl ? new URL(devUrl).origin : null;

  // Before 'ready': app:// is a standard, secure origin, and every renderer is sandboxed.
  protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
  app.enableSandbox();
  if (process.platform === 'win32') app.setAppUserModelId(APP_ID);

  if (!app.requestSingleInstanceLock()) {
    log.info('another Gatehouse is running; handing over to it');
    app.quit();
    return;
  }

  let win: BrowserWindow | null = null;
  let core: CoreClient | null = null;
  let coreStopped = false;
  log.info(`starting Gatehouse ${app.getVersion()} (Electron ${process.versions.electron ?? '?'})`);
  process.on('unhandledRejection', (reason) => log.error(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));

  app.on('second-instance', () => focusWindow(win));
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, log));
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', (event) => {
    if (!core || coreStopped) return;
    // Let the core close the database before the app goes.
    event.preventDefault();
    void core.stop().finally(() => {
      coreStopped = true;
      app.quit();
    });
  });

  app
    .whenReady()
    .then(async () => {
      hardenSession(session.defaultSession, { devOrigin, log });
      session.defaultSession.protocol.handle(APP_SCHEME, createAppProtocolHandler(paths.rendererDir));

      const dataDir = process.env.GATEHOUSE_DATA_DIR || app.getPath('userData');
      // safeStorage is main's only: main unwraps the master key the hub keys are sealed under, the core gets it.
      let masterKey: Uint8Array | null = null;
      try {
        masterKey = loadDesktopMasterKey({ safeStorage, dataDir, log });
      } catch (e) {
        log.error(`hubs: ${(e as Error).message}; no hub is connected until this is fixed`);
      }
      let started = false;
      const client = new CoreClient({
        modulePath: paths.coreProcess,
        dataDir,
        log,
        masterKey,
        onExit: (reason) => {
          if (!started) return; // reported below, where ready rejects
          dialog.showErrorBox('Gatehouse stopped', `The Gatehouse core stopped: ${reason}\n\nDetails are in ${log.file}.`);
          app.quit();
        },
      });
      core = client;
      registerIpc({
        ipcMain,
        mainContents: () => (win && !win.isDestroyed() ? win.webContents : null),
        devOrigin,
        core: client,
        log,
        chooseExportFile: (contents, suggestedName) => chooseExportFile(BrowserWindow.fromWebContents(contents), suggestedName),
      });

      let ready;
      try {
        ready = await client.ready;
        started = true;
      } catch (e) {
        coreStopped = true;
        dialog.showErrorBox('Gatehouse cannot start', `${(e as Error).message}\n\nDetails are in ${log.file}.`);
        app.quit();
        return;
      }
      log.info(`core ready: data folder ${ready.dataDir}${ready.created ? ' (new site)' : ''}`);

      win = createMainWindow({
        preload: paths.preload,
        devUrl,
        devTools: !app.isPackaged,
        onLoadFailed: (e) => log.error(`window: could not load the UI: ${e.message}`),
      });
      const contents = win.webContents;
      const id = contents.id;
      // A reload or a crash of the page ends its event subscription; the page subscribes again.
      contents.on('did-navigate', () => client.unsubscribe(id));
      contents.on('render-process-gone', (_e, details) => {
        log.error(`window: the renderer is gone (${details.reason})`);
        client.unsubscribe(id);
      });
      contents.on('destroyed', () => client.unsubscribe(id));
      win.on('closed', () => {
        win = null;
      });

      const password = ready.generatedPassword;
      if (password) {
        log.info("first start: created the operator 'owner'; its password is shown once in a dialog (not logged)");
        const shown = win;
        shown.once('ready-to-show', () => void showOwnerPassword(shown, password));
      }
    })
    .catch((e: Error) => {
      log.error(`start-up failed: ${e.stack ?? e.message}`);
      dialog.showErrorBox('Gatehouse cannot start', e.message);
      app.quit();
    });
}

/** A save dialog for an export, starting in the Downloads folder with the name the page suggested. */
async function chooseExportFile(win: BrowserWindow | null, suggestedName: string): Promise<string | null> {
  const ext = suggestedName.includes('.') ? suggestedName.slice(suggestedName.lastIndexOf('.') + 1) : '';
  const options = {
    title: 'Export',
    defaultPath: join(app.getPath('downloads'), suggestedName),
    filters: ext ? [{ name: ext.toUpperCase(), extensions: [ext] }] : [],
    properties: ['createDirectory', 'showOverwriteConfirmation'] as Array<'createDirectory' | 'showOverwriteConfirmation'>,
  };
  const { canceled, filePath } = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
  return canceled || !filePath ? null : filePath;
}

/** The generated owner password, once, with a button that copies it (it is never written to the log). */
async function showOwnerPassword(win: BrowserWindow, password: string): Promise<void> {
  const { response } = await dialog.showMessageBox(win, {
    type: 'info',
    title: 'Gatehouse',
    message: "Sign in as 'owner' with this password",
    detail:
      `${password}\n\nIt is shown only this once: copy it or write it down, and change it after signing in. ` +
      '(Set GATEHOUSE_OWNER_PASSWORD before the first start to choose it yourself.)',
    buttons: ['Copy password', 'Close'],
    defaultId: 0,
    cancelId: 1,
    noLink: true,
  });
  if (response === 0) clipboard.writeText(password);
}

main();
