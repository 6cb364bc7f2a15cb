import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CALL_CHANNEL } from '../../main/electron/ipc.ts';

type Listener = (...args: unknown[]) => void;

// Electron, faked at its seams: what main.ts registers is recorded so each test can call it.
const electron = vi.hoisted(() => {
  const calls: string[] = [];
  const windows: Array<{ handlers: Map<string, Listener>; loaded?: { url?: string; file?: string } }> = [];
  class BrowserWindow {
    static getAllWindows = () => windows;
    webContents: Record<string, unknown>;
    private readonly entry: (typeof windows)[number];
    constructor() {
      this.entry = { handlers: new Map() };
      windows.push(this.entry);
      const entry = this.entry;
      this.webContents = {
        on: (name: string, fn: Listener) => entry.handlers.set(name, fn),
        once: () => undefined,
        send: () => undefined,
        isDestroyed: () => false,
        setWindowOpenHandler: () => undefined,
      };
    }
    once() {}
    loadFile(file: string) {
      this.entry.loaded = { file };
      return Promise.resolve();
    }
    loadURL(url: string) {
      this.entry.loaded = { url };
      return Promise.resolve();
    }
  }
  const switches = new Map<string, string>();
  const app = {
    isPackaged: false,
    commandLine: {
      appendSwitch: vi.fn((name: string, value = '') => {
        calls.push(`appendSwitch ${name}`);
        switches.set(name, value);
      }),
      getSwitchValue: (name: string) => switches.get(name) ?? '',
    },
    requestSingleInstanceLock: () => true,
    on: () => undefined,
    quit: vi.fn(),
    exit: vi.fn(),
    getPath: () => '/tmp/station-hardening-test',
    whenReady: () => {
      calls.push('whenReady');
      return Promise.resolve();
    },
  };
  const sessionHandlers: { permissionCheck?: (...a: unknown[]) => boolean } = {};
  const session = {
    defaultSession: {
      setPermissionRequestHandler: () => undefined,
      setPermissionCheckHandler: (fn: (...a: unknown[]) => boolean) => {
        sessionHandlers.permissionCheck = fn;
      },
      webRequest: { onHeadersReceived: () => undefined },
    },
  };
  const ipcHandlers = new Map<string, (event: unknown, ...args: unknown[]) => Promise<{ ok: boolean; error?: string }>>();
  const dialog = { showErrorBox: vi.fn() };
  return {
    module: { app, BrowserWindow, dialog, session, ipcMain: { handle: (channel: string, fn: never) => ipcHandlers.set(channel, fn) } },
    app,
    calls,
    dialog,
    ipcHandlers,
    sessionHandlers,
    switches,
    windows,
  };
});
vi.mock('electron', () => ({ ...electron.module, default: electron.module }));

const storage = vi.hoisted(() => ({ secretKey: async (): Promise<Buffer> => Buffer.alloc(32, 7) }));
vi.mock('../../main/electron/app-storage.ts', () => ({
  openAppStore: () => ({ get: () => undefined, set: () => undefined, delete: () => undefined }),
  electronSettingsStore: () => ({ read: () => undefined, write: () => undefined }),
  electronSecretKey: () => storage.secretKey(),
}));

const LINEAR_FALLBACK = '--enable-experimental-regexp-engine-on-excessive-backtracks';

async function startMain(options: { isPackaged?: boolean; rendererUrl?: string; jsFlags?: string } = {}): Promise<void> {
  vi.resetModules();
  electron.windows.length = 0;
  electron.calls.length = 0;
  electron.switches.clear();
  if (options.jsFlags) electron.switches.set('js-flags', options.jsFlags);
  electron.ipcHandlers.clear();
  electron.app.isPackaged = options.isPackaged ?? false;
  if (options.rendererUrl === undefined) delete process.env.ELECTRON_RENDERER_URL;
  else process.env.ELECTRON_RENDERER_URL = options.rendererUrl;
  await import('../../main/electron/main.ts');
}

const started = () => vi.waitFor(() => expect(electron.windows).toHaveLength(1));

describe('the Electron shell is hardened (electron mocked)', () => {
  const envBefore = process.env.ELECTRON_RENDERER_URL;
  beforeEach(() => {
    storage.secretKey = async () => Buffer.alloc(32, 7);
    electron.dialog.showErrorBox.mockClear();
    electron.app.exit.mockClear();
  });
  afterEach(() => {
    if (envBefore === undefined) delete process.env.ELECTRON_RENDERER_URL;
    else process.env.ELECTRON_RENDERER_URL = envBefore;
  });

  it('a packaged build ignores ELECTRON_RENDERER_URL: it loads its own file and trusts no page at that address', async () => {
    await startMain({ isPackaged: true, rendererUrl: 'https://evil.example/' });
    await started();
    expect(electron.windows[0]!.loaded).toEqual({ file: expect.stringMatching(/renderer[\\/]index\.html$/) });
    const answer = await electron.ipcHandlers.get(CALL_CHANNEL)!({ senderFrame: { url: 'https://evil.example/' } }, 'snapshot', []);
    expect(answer).toMatchObject({ ok: false, error: expect.stringContaining('not a station page') });
  });

  it('a development run takes a loopback dev server, and nothing else', async () => {
    await startMain({ rendererUrl: 'http://localhost:5173' });
    await started();
    expect(electron.windows[0]!.loaded).toEqual({ url: 'http://localhost:5173' });

    await startMain({ rendererUrl: 'http://192.0.2.7:5173' });
    await started();
    expect(electron.windows[0]!.loaded).toEqual({ file: expect.stringMatching(/renderer[\\/]index\.html$/) });
  });

  it('stops a redirect that would take the window away, and lets its own page through', async () => {
    await startMain();
    await started();
    const redirect = electron.windows[0]!.handlers.get('will-redirect');
    expect(redirect).toBeTypeOf('function');
    const away = { preventDefault: vi.fn() };
    redirect!(away, 'https://evil.example/login');
    expect(away.preventDefault).toHaveBeenCalled();
    const home = { preventDefault: vi.fn() };
    redirect!(home, pathToFileURL(electron.windows[0]!.loaded!.file!).href);
    expect(home.preventDefault).not.toHaveBeenCalled();
  });

  it('answers every permission check with no', async () => {
    await startMain();
    await started();
    const check = electron.sessionHandlers.permissionCheck;
    expect(check).toBeTypeOf('function');
    for (const permission of ['clipboard-read', 'media', 'serial', 'hid', 'usb', 'notifications', 'geolocation']) {
      expect(check!(null, permission, 'file://', {})).toBe(false);
    }
  });

  it('passes the linear-time regexp fallback to V8 in js-flags before the app is ready, keeping flags already given', async () => {
    await startMain({ jsFlags: '--max-old-space-size=4096' });
    await started();
    expect(electron.calls.indexOf('appendSwitch js-flags')).toBeGreaterThanOrEqual(0);
    expect(electron.calls.indexOf('appendSwitch js-flags')).toBeLessThan(electron.calls.indexOf('whenReady'));
    expect(electron.switches.get('js-flags')!.split(' ')).toEqual(['--max-old-space-size=4096', LINEAR_FALLBACK]);
  });

  it('and sets it in the main process itself: a catastrophic profile pattern finishes instead of freezing the station', async () => {
    await startMain();
    await started();
    // A worker shares the process's V8 flags and can be stopped if the pattern hangs (2^40 steps without the fallback).
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const started = Date.now();
       const matched = new RegExp('^(?<serial>a+)+$').test('a'.repeat(40) + '!');
       parentPort.postMessage({ matched, ms: Date.now() - started });`,
      { eval: true },
    );
    try {
      const result = await new Promise<{ matched: boolean; ms: number } | 'frozen'>((resolve, reject) => {
        const limit = setTimeout(() => resolve('frozen'), 10_000);
        worker.once('message', (message) => {
          clearTimeout(limit);
          resolve(message);
        });
        worker.once('error', reject);
      });
      expect(result).toMatchObject({ matched: false });
    } finally {
      await worker.terminate();
    }
  });

  it('a start that fails says why in one dialog and exits, instead of sitting there without a window', async () => {
    storage.secretKey = async () => {
      throw new Error('the secrets key is sealed by an OS keychain this session cannot open (Linux backend basic_text)');
    };
    await startMain();
    await vi.waitFor(() => expect(electron.app.exit).toHaveBeenCalledWith(1));
    expect(electron.dialog.showErrorBox).toHaveBeenCalledWith('Provisioning Station cannot start', expect.stringContaining('sealed by an OS keychain'));
    expect(electron.windows).toHaveLength(0);
  });
});

describe('which page is the station\'s own', () => {
  const pageSource = () => import('../../main/electron/page-source.ts');

  it('matches the dev server by origin, not by a prefix of its address', async () => {
    const { choosePageSource, isOwnPage } = await pageSource();
    const dev = choosePageSource({ isPackaged: false, devServerUrl: 'http://localhost:5173', builtFile: '/app/out/renderer/index.html' });
    expect(isOwnPage(dev, 'http://localhost:5173/index.html')).toBe(true);
    expect(isOwnPage(dev, 'http://localhost:51730/')).toBe(false);
    expect(isOwnPage(dev, 'http://localhost:5173.evil.example/')).toBe(false);
  });

  it('takes a dev server only on a loopback address', async () => {
    const { choosePageSource } = await pageSource();
    const devServer = (devServerUrl: string) => choosePageSource({ isPackaged: false, devServerUrl, builtFile: '/b/index.html' }).devServerUrl;
    expect(devServer('http://127.0.0.1:5173')).toBe('http://127.0.0.1:5173');
    expect(devServer('http://[::1]:5173/')).toBe('http://[::1]:5173');
    expect(devServer('http://127.evil.example:5173')).toBeUndefined();
    expect(devServer('file:///etc/passwd')).toBeUndefined();
    expect(devServer('not a url')).toBeUndefined();
  });

  it('matches exactly the built file, on POSIX and Windows paths', async () => {
    const { choosePageSource, isOwnPage } = await pageSource();
    const posix = choosePageSource({ isPackaged: true, devServerUrl: undefined, builtFile: '/app/resources/app.asar/out/renderer/index.html' });
    expect(isOwnPage(posix, 'file:///app/resources/app.asar/out/renderer/index.html')).toBe(true);
    expect(isOwnPage(posix, 'file:///app/resources/app.asar/out/renderer/other.html')).toBe(false);
    expect(isOwnPage(posix, 'not a url')).toBe(false);
    const windows = choosePageSource({ isPackaged: true, devServerUrl: undefined, builtFile: 'C:\\Program Files\\Station\\resources\\app.asar\\out\\renderer\\index.html' });
    expect(isOwnPage(windows, 'file:///C:/Program%20Files/Station/resources/app.asar/out/renderer/index.html')).toBe(true);
  });
});
