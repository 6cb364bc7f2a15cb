import { beforeEach, describe, expect, it, vi } from 'vitest';
import { registerIpc } from '../../main/electron/ipc.ts';

type Handler = (event: { senderFrame?: { url: string } }, ...args: unknown[]) => Promise<unknown>;

function fakeIpcMain() {
  const handlers = new Map<string, Handler>();
  return { handlers, handle: (channel: string, handler: Handler) => handlers.set(channel, handler) };
}

describe('IPC wiring', () => {
  const trusted = { senderFrame: { url: 'file:///app/out/renderer/index.html' } };
  const foreign = { senderFrame: { url: 'https://example.com/' } };
  const setup = (listPorts = async () => [{ path: '/dev/ttyACM0', vendorId: '303a', productId: '1001' }]) => {
    const ipcMain = fakeIpcMain();
    registerIpc(ipcMain as never, { isTrustedSender: (event) => event.senderFrame?.url === trusted.senderFrame.url, listPorts });
    return ipcMain.handlers.get('ports:list')!;
  };

  it('lists ports for our own page', async () => {
    expect(await setup()(trusted)).toEqual({ ports: [{ path: '/dev/ttyACM0', vendorId: '303a', productId: '1001' }] });
  });

  it('refuses a message from any other sender', async () => {
    await expect(setup()(foreign)).rejects.toThrow(/sender is not a station page/);
  });

  it('refuses a malformed payload and does nothing', async () => {
    const listPorts = vi.fn(async () => []);
    await expect(setup(listPorts)(trusted, { path: '/etc/passwd' })).rejects.toThrow(/malformed payload/);
    expect(listPorts).not.toHaveBeenCalled();
  });

  it('reports an enumeration failure as a problem the screen can show, not an exception', async () => {
    const answer = (await setup(async () => Promise.reject(new Error('spawn udevadm ENOENT')))(trusted)) as { problem: string };
    expect(answer.problem).toMatch(/udevadm is missing/);
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
  const app = {
    requestSingleInstanceLock: vi.fn(() => true),
    on: vi.fn(),
    quit: vi.fn(),
    whenReady: () => Promise.resolve(),
  };
  const session = {
    defaultSession: {
      setPermissionRequestHandler: (fn: typeof permissionHandler) => {
        permissionHandler = fn;
      },
      webRequest: {
        onHeadersReceived: (fn: typeof headersHandler) => {
          headersHandler = fn;
        },
      },
    },
  };
  return {
    module: { app, BrowserWindow, ipcMain: { handle: vi.fn() }, session },
    windows,
    app,
    permission: () => permissionHandler!,
    headers: () => headersHandler!,
  };
});
vi.mock('electron', () => ({ ...electron.module, default: electron.module }));

describe('Electron main process hardening (electron mocked)', () => {
  beforeEach(async () => {
    vi.resetModules();
    electron.windows.length = 0;
    await import('../../main/electron/main.ts');
    await new Promise((resolve) => setTimeout(resolve, 0));
  });

  it('creates the window isolated, sandboxed, without Node', () => {
    const prefs = electron.windows[0]!.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
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

  it('takes the single-instance lock', () => {
    expect(electron.app.requestSingleInstanceLock).toHaveBeenCalled();
  });
});
