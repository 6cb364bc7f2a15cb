import { join } from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, protocol, session } from 'electron';
import { StationDesk } from '../core/desk/station-desk.ts';
import { describeError } from '../core/errors.ts';
import { holdHeapSteady } from '../core/heap-policy.ts';
import { registerIpc, streamUpdates } from './ipc.ts';
import { electronSecretKey, electronSettingsStore, openAppStore } from './app-storage.ts';
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, serveAppFile } from './app-protocol.ts';
import { choosePageSource, isOwnPage } from './page-source.ts';
import { enableLinearRegexpFallback } from './regexp-safety.ts';
import { guardNavigation, lockDownSession } from './web-guards.ts';

// Before anything compiles a profile's pattern, and before ready (renderers read js-flags when they start).
enableLinearRegexpFallback(app.commandLine);
// The desk runs for a shift; the operating system starts it without V8 flags, and app.commandLine is too late for this process.
holdHeapSteady();
// The page's own scheme (station://app/) must be known before ready; it is served once the app is.
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);

const page = choosePageSource({
  isPackaged: app.isPackaged,
  devServerUrl: process.env.ELECTRON_RENDERER_URL,
  builtRoot: join(import.meta.dirname, '../renderer'),
});

function createWindow(desk: StationDesk): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    show: false,
    title: 'Provisioning Station',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  guardNavigation(window.webContents, page);
  streamUpdates(desk, window.webContents);
  void window.loadURL(page.url);
  return window;
}

/** Quitting waits for the desk: units at work finish (or are cancelled after a grace period) and the journal closes. */
function quitCleanly(desk: StationDesk): void {
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing) return;
    closing = true;
    event.preventDefault();
    void desk.close().finally(() => app.exit(0));
  });
}

async function start(): Promise<void> {
  lockDownSession(session.defaultSession);
  protocol.handle(APP_SCHEME, (request) => serveAppFile(page.root, request.url));
  const dataDir = app.getPath('userData');
  const store = openAppStore(dataDir);
  const desk = new StationDesk({ dataDir, settings: electronSettingsStore(store), secretKey: await electronSecretKey(store, dataDir) });
  registerIpc(ipcMain, { desk, isTrustedSender: (event) => isOwnPage(page, event.senderFrame?.url ?? '') });
  quitCleanly(desk);
  await desk.init();
  createWindow(desk);
  app.on('second-instance', () => {
    const [window] = BrowserWindow.getAllWindows();
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(desk);
  });
}

if (!app.requestSingleInstanceLock()) {
  // Two stations on the same ports would fight over them.
  app.quit();
} else {
  app
    .whenReady()
    .then(start)
    .catch((error: unknown) => {
      // Without this the process would sit there with no window and no word.
      dialog.showErrorBox('Provisioning Station cannot start', describeError(error));
      app.exit(1);
    });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
