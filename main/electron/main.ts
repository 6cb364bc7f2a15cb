import { join } from 'node:path';
import { app, BrowserWindow, ipcMain, session } from 'electron';
import { StationDesk } from '../core/desk/station-desk.ts';
import { CONTENT_SECURITY_POLICY } from '../core/serve/content-security-policy.ts';
import { registerIpc, streamUpdates } from './ipc.ts';
import { electronSecretKey, electronSettingsStore } from './app-storage.ts';


const rendererUrl = process.env.ELECTRON_RENDERER_URL;
const rendererFile = join(import.meta.dirname, '../renderer/index.html');

function isOwnPage(url: string): boolean {
  if (rendererUrl) return url.startsWith(rendererUrl);
  return url.startsWith('file://') && decodeURIComponent(new URL(url).pathname) === rendererFile.replaceAll('\\', '/');
}

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
  // Nothing navigates away from the station or opens new windows.
  window.webContents.on('will-navigate', (event, url) => {
    if (!isOwnPage(url)) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  streamUpdates(desk, window.webContents);
  if (rendererUrl) void window.loadURL(rendererUrl);
  else void window.loadFile(rendererFile);
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

if (!app.requestSingleInstanceLock()) {
  // Two stations on the same ports would fight over them.
  app.quit();
} else {
  app.whenReady().then(async () => {
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
    });
    const dataDir = app.getPath('userData');
    const desk = new StationDesk({ dataDir, settings: electronSettingsStore(), secretKey: await electronSecretKey(dataDir) });
    registerIpc(ipcMain, { desk, isTrustedSender: (event) => isOwnPage(event.senderFrame?.url ?? '') });
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
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
