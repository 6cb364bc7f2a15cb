import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
  const schemes: unknown[] = [];
  const protocolHandlers = new Map<string, (request: { url: string }) => Promise<Response>>();
  const protocol = {
    registerSchemesAsPrivileged: (list: unknown[]) => {
      calls.push('registerSchemesAsPrivileged');
      schemes.push(...list);
    },
    handle: (scheme: string, fn: (request: { url: string }) => Promise<Response>) => protocolHandlers.set(scheme, fn),
  };
  return {
    module: { app, BrowserWindow, dialog, protocol, session, ipcMain: { handle: (channel: string, fn: never) => ipcHandlers.set(channel, fn) } },
    app,
    calls,
    schemes,
    protocolHandlers,
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

/** The built page (npm test builds it first). */
const RENDERER = resolve(import.meta.dirname, '../../out/renderer');

const LINEAR_FALLBACK = '--enable-experimental-regexp-engine-on-excessive-backtracks';

async function startMain(options: { isPackaged?: boolean; rendererUrl?: string; jsFlags?: string } = {}): Promise<void> {
  vi.resetModules();
  electron.windows.length = 0;
  electron.calls.length = 0;
  electron.switches.clear();
  if (options.jsFlags) electron.switches.set('js-flags', options.jsFlags);
  electron.ipcHandlers.clear();
  electron.schemes.length = 0;
  electron.protocolHandlers.clear();
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

  it('a packaged build ignores ELECTRON_RENDERER_URL: it loads its own page and trusts no page at that address', async () => {
    await startMain({ isPackaged: true, rendererUrl: 'https://evil.example/' });
    await started();
    expect(electron.windows[0]!.loaded).toEqual({ url: 'station://app/index.html' });
    const answer = await electron.ipcHandlers.get(CALL_CHANNEL)!({ senderFrame: { url: 'https://evil.example/' } }, 'snapshot', []);
    expect(answer).toMatchObject({ ok: false, error: expect.stringContaining('not a station page') });
  });

  it('a development run takes a loopback dev server, and nothing else', async () => {
    await startMain({ rendererUrl: 'http://localhost:5173' });
    await started();
    expect(electron.windows[0]!.loaded).toEqual({ url: 'http://localhost:5173' });

    await startMain({ rendererUrl: 'http://192.0.2.7:5173' });
    await started();
    expect(electron.windows[0]!.loaded).toEqual({ url: 'station://app/index.html' });
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
    redirect!(home, 'station://app/index.html');
    expect(home.preventDefault).not.toHaveBeenCalled();
    // The built page as a file is not the station's page any more: file:// has no way back in.
    const asFile = { preventDefault: vi.fn() };
    redirect!(asFile, pathToFileURL(join(RENDERER, 'index.html')).href);
    expect(asFile.preventDefault).toHaveBeenCalled();
  });

  it('serves the page on its own secure, standard scheme, registered before ready, and only the built page\'s files', async () => {
    await startMain({ isPackaged: true });
    await started();
    expect(electron.calls.indexOf('registerSchemesAsPrivileged')).toBeGreaterThanOrEqual(0);
    expect(electron.calls.indexOf('registerSchemesAsPrivileged')).toBeLessThan(electron.calls.indexOf('whenReady'));
    expect(electron.schemes).toEqual([{ scheme: 'station', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    expect(electron.protocolHandlers.get('station')).toBeTypeOf('function');
    // What it serves, from the built page (main.ts, run from its source here, would look for it beside main/).
    const { serveAppFile } = await import('../../main/electron/app-protocol.ts');
    const serve = (request: { url: string }) => serveAppFile(RENDERER, request.url);

    const page = await serve({ url: 'station://app/index.html' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toBe(readFileSync(join(RENDERER, 'index.html'), 'utf8'));
    // Every script and style the page names, byte for byte, with the type a module script needs.
    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const answer = await serve({ url: `station://app/${asset}` });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(Buffer.from(await answer.arrayBuffer()).equals(readFileSync(join(RENDERER, asset)))).toBe(true);
    }
    for (const url of ['station://app/../../../../etc/passwd', 'station://app/%2e%2e/%2e%2e/package.json', 'station://app/assets%2f..%2f..%2f..%2fpackage.json', 'station://app/..%5c..%5cpackage.json', 'station://app/index.html%00.js', 'station://other/index.html', 'station://app/missing.js']) {
      expect((await serve({ url })).status, url).toBe(404);
    }
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
    const dev = choosePageSource({ isPackaged: false, devServerUrl: 'http://localhost:5173', builtRoot: '/app/out/renderer' });
    expect(isOwnPage(dev, 'http://localhost:5173/index.html')).toBe(true);
    expect(isOwnPage(dev, 'http://localhost:51730/')).toBe(false);
    expect(isOwnPage(dev, 'http://localhost:5173.evil.example/')).toBe(false);
  });

  it('takes a dev server only on a loopback address', async () => {
    const { choosePageSource } = await pageSource();
    const devServer = (devServerUrl: string) => choosePageSource({ isPackaged: false, devServerUrl, builtRoot: '/b' }).devServerUrl;
    expect(devServer('http://127.0.0.1:5173')).toBe('http://127.0.0.1:5173');
    expect(devServer('http://[::1]:5173/')).toBe('http://[::1]:5173');
    expect(devServer('http://127.evil.example:5173')).toBeUndefined();
    expect(devServer('file:///etc/passwd')).toBeUndefined();
    expect(devServer('not a url')).toBeUndefined();
  });

  it('matches exactly the built page on the app\'s scheme, and no file:// page', async () => {
    const { choosePageSource, isOwnPage } = await pageSource();
    const built = choosePageSource({ isPackaged: true, devServerUrl: undefined, builtRoot: '/app/resources/app.asar/out/renderer' });
    expect(built).toEqual({ url: 'station://app/index.html', root: '/app/resources/app.asar/out/renderer' });
    expect(isOwnPage(built, 'station://app/index.html')).toBe(true);
    expect(isOwnPage(built, 'station://app/index.html#history')).toBe(true);
    expect(isOwnPage(built, 'station://app/other.html')).toBe(false);
    expect(isOwnPage(built, 'station://app.evil/index.html')).toBe(false);
    expect(isOwnPage(built, 'file:///app/resources/app.asar/out/renderer/index.html')).toBe(false);
    expect(isOwnPage(built, 'not a url')).toBe(false);
  });
});
