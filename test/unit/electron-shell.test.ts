import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StationDesk } from '../../main/core/desk/station-desk.ts';
import { CALL_CHANNEL, registerIpc, streamUpdates } from '../../main/electron/ipc.ts';

type Handler = (event: { senderFrame?: { url: string } }, ...args: unknown[]) => Promise<{ ok: boolean; value?: unknown; error?: string }>;

function newDesk(settings = { read: (): unknown => undefined, write: vi.fn() }) {
  return { desk: new StationDesk({ dataDir: mkdtempSync(join(tmpdir(), 'ipc-')), settings, secretKey: randomBytes(32), listPorts: async () => [{ path: '/dev/ttyACM0', vendorId: '303a', productId: '1001' }] }), settings };
}

describe('IPC wiring (electron mocked)', () => {
  const trusted = { senderFrame: { url: 'file:///app/out/renderer/index.html' } };
  const foreign = { senderFrame: { url: 'https://example.com/' } };
  let desk: StationDesk;
  let settings: ReturnType<typeof newDesk>['settings'];
  let call: Handler;

  beforeEach(() => {
    ({ desk, settings } = newDesk());
    const handlers = new Map<string, Handler>();
    registerIpc({ handle: (channel: string, handler: Handler) => handlers.set(channel, handler) } as never, { desk, isTrustedSender: (event) => event.senderFrame?.url === trusted.senderFrame.url });
    call = handlers.get(CALL_CHANNEL)!;
  });
  afterEach(() => desk.close(0));

  it('answers our own page through the contract', async () => {
    expect(await call(trusted, 'listPorts', [])).toEqual({ ok: true, value: { ports: [{ path: '/dev/ttyACM0', vendorId: '303a', productId: '1001' }] } });
    expect(await call(trusted, 'snapshot', [])).toMatchObject({ ok: true, value: { header: { configured: false }, tiles: [] } });
  });

  it('refuses a message from any other sender, and does nothing', async () => {
    const answer = await call(foreign, 'saveSettings', [{ backend: 'gadgetkeeper', url: 'http://127.0.0.1:1', fields: {}, ports: [], autoStart: false }]);
    expect(answer).toEqual({ ok: false, error: 'saveSettings: refused, the sender is not a station page' });
    expect(settings.write).not.toHaveBeenCalled();
  });

  it('refuses malformed payloads with an error and changes nothing', async () => {
    const before = await call(trusted, 'snapshot', []);
    for (const args of [['listPorts', { path: '/etc/passwd' }], ['nope', []], ['retryUnit', [-1]], ['saveSettings', [{ backend: 'gadgetkeeper' }]], ['startLine', [], 'extra'], [42, []]]) {
      const answer = await call(trusted, ...args);
      expect(answer.ok, JSON.stringify(args)).toBe(false);
      expect(answer.error).toMatch(/refused/);
    }
    expect(settings.write).not.toHaveBeenCalled();
    expect(await call(trusted, 'snapshot', [])).toEqual(before);
  });

  it('streams updates to the window until it is destroyed', async () => {
    const sent: unknown[] = [];
    let destroyed: (() => void) | undefined;
    streamUpdates(desk, { send: (_channel: string, update: unknown) => sent.push(update), isDestroyed: () => false, once: (_event: string, fn: () => void) => (destroyed = fn) } as never);
    expect(sent).toEqual([expect.objectContaining({ type: 'snapshot' })]);
    destroyed!();
    await desk.startLine().catch(() => undefined);
    expect(sent).toHaveLength(1);
  });
});

const electron = vi.hoisted(() => {
  const windows: Array<{ options: Record<string, unknown>; handlers: Map<string, (...a: unknown[]) => void>; openHandler?: () => unknown }> = [];
  class BrowserWindow {
    static getAllWindows = () => windows;
    webContents: Record<string, unknown>;
    constructor(options: Record<string, unknown>) {
      const entry = { options, handlers: new Map<string, (...a: unknown[]) => void>(), openHandler: undefined as (() => unknown) | undefined };
      windows.push(entry);
      this.webContents = {
        on: (name: string, fn: (...a: unknown[]) => void) => entry.handlers.set(name, fn),
        once: () => undefined,
        send: () => undefined,
        isDestroyed: () => false,
        setWindowOpenHandler: (fn: () => unknown) => {
          entry.openHandler = fn;
        },
      };
    }
    once() {}
    loadFile() {
      return Promise.resolve();
    }
    loadURL() {
      return Promise.resolve();
    }
  }
  let permissionHandler: ((c: unknown, p: string, cb: (ok: boolean) => void) => void) | undefined;
  let headersHandler: ((d: { responseHeaders: Record<string, string[]> }, cb: (r: unknown) => void) => void) | undefined;
  const appHandlers = new Map<string, (...a: unknown[]) => void>();
  const app = {
    commandLine: { appendSwitch: vi.fn(), getSwitchValue: () => '' },
    requestSingleInstanceLock: vi.fn(() => true),
    on: vi.fn((name: string, fn: (...a: unknown[]) => void) => appHandlers.set(name, fn)),
    quit: vi.fn(),
    exit: vi.fn(),
    getPath: () => '/tmp',
    whenReady: () => Promise.resolve(),
  };
  const session = {
    defaultSession: {
      setPermissionRequestHandler: (fn: typeof permissionHandler) => {
        permissionHandler = fn;
      },
      setPermissionCheckHandler: () => undefined,
      webRequest: {
        onHeadersReceived: (fn: typeof headersHandler) => {
          headersHandler = fn;
        },
      },
    },
  };
  const ipcHandlers = new Map<string, unknown>();
  return {
    module: { app, BrowserWindow, ipcMain: { handle: vi.fn((channel: string, fn: unknown) => ipcHandlers.set(channel, fn)) }, session },
    windows,
    app,
    appHandlers,
    ipcHandlers,
    permission: () => permissionHandler!,
    headers: () => headersHandler!,
  };
});
vi.mock('electron', () => ({ ...electron.module, default: electron.module }));
// The app's storage is electron-store and safeStorage (tested in electron-storage.test.ts); here, in memory.
vi.mock('../../main/electron/app-storage.ts', () => ({
  openAppStore: () => ({ get: () => undefined, set: () => undefined, delete: () => undefined }),
  electronSettingsStore: () => ({ read: () => undefined, write: () => undefined }),
  electronSecretKey: async () => Buffer.alloc(32, 7),
}));

describe('Electron main process (electron mocked)', () => {
  beforeEach(async () => {
    vi.resetModules();
    electron.windows.length = 0;
    electron.appHandlers.clear();
    await import('../../main/electron/main.ts');
    await vi.waitFor(() => expect(electron.windows.length).toBe(1));
  });

  it('creates the window isolated, sandboxed, without Node', () => {
    const prefs = electron.windows[0]!.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, allowRunningInsecureContent: false });
  });

  it('blocks navigation away and new windows', () => {
    const window = electron.windows[0]!;
    const event = { preventDefault: vi.fn() };
    window.handlers.get('will-navigate')!(event, 'https://evil.example/');
    expect(event.preventDefault).toHaveBeenCalled();
    expect(window.openHandler!()).toEqual({ action: 'deny' });
  });

  it('denies every permission request and sets a strict CSP', () => {
    let granted: boolean | undefined;
    electron.permission()(undefined, 'media', (ok) => {
      granted = ok;
    });
    expect(granted).toBe(false);
    let headers: Record<string, string[]> = {};
    electron.headers()({ responseHeaders: {} }, (r) => {
      headers = (r as { responseHeaders: Record<string, string[]> }).responseHeaders;
    });
    expect(headers['Content-Security-Policy']![0]).toContain("default-src 'self'");
    expect(headers['Content-Security-Policy']![0]).toContain("object-src 'none'");
  });

  it('takes the single-instance lock and wires the one IPC channel', () => {
    expect(electron.app.requestSingleInstanceLock).toHaveBeenCalled();
    expect([...electron.ipcHandlers.keys()]).toEqual([CALL_CHANNEL]);
  });

  it('quits cleanly: the quit waits for the desk to close, then exits', async () => {
    const event = { preventDefault: vi.fn() };
    electron.appHandlers.get('before-quit')!(event);
    expect(event.preventDefault).toHaveBeenCalled();
    await vi.waitFor(() => expect(electron.app.exit).toHaveBeenCalledWith(0));
  });
});
