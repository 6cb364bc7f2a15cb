import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StationDesk } from '../../main/core/desk/station-desk.ts';
import type { SettingsInput } from '../../contract/station-contract.ts';
import { CONTENT_SECURITY_POLICY } from '../../main/core/serve/content-security-policy.ts';
import { CALL_CHANNEL, registerIpc, streamUpdates } from '../../main/electron/ipc.ts';

type Handler = (event: { senderFrame?: { url: string }; sender?: unknown }, ...args: unknown[]) => Promise<{ ok: boolean; value?: unknown; error?: string }>;

function newDesk(settings = { read: (): unknown => undefined, write: vi.fn() }) {
  return { desk: new StationDesk({ dataDir: mkdtempSync(join(tmpdir(), 'ipc-')), settings, secretKey: randomBytes(32), listPorts: async () => [{ path: '/dev/ttyACM0', vendorId: '303a', productId: '1001' }] }), settings };
}

describe('IPC wiring (electron mocked)', () => {
  const trusted = { senderFrame: { url: 'station://app/index.html' } };
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

  it('runs one history export at a time for every window: another asked meanwhile is refused, and one asked after it runs', async () => {
    const first = call(trusted, 'exportCsv', [{}]);
    const second = call(trusted, 'exportJson', [{}]);
    expect(await second).toEqual({ ok: false, error: 'exportJson: refused, an export is already running on this station (from this screen or another); try again when it finishes' });
    expect(await first).toMatchObject({ ok: true, value: expect.stringContaining('serial') });
    expect(await call(trusted, 'exportJson', [{}])).toMatchObject({ ok: true });
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

  it('in operator mode, saving settings or importing a profile needs the window unlocked with the engineer PIN; a reload locks it again', async () => {
    const { storeEngineerPin } = await import('../../main/core/operator/engineer-pin.ts');
    const { Journal } = await import('../../main/core/storage/journal.ts');
    const { SecretBox } = await import('../../main/core/storage/secret-box.ts');
    const dataDir = (desk as unknown as { options: { dataDir: string } }).options.dataDir;
    const journal = Journal.open(join(dataDir, 'journal.sqlite'), new SecretBox(randomBytes(32)));
    await storeEngineerPin(journal, '735911');
    journal.close();
    const listeners = new Map<string, () => void>();
    const window = { senderFrame: trusted.senderFrame, sender: { on: (name: string, fn: () => void) => listeners.set(name, fn), off: (name: string) => listeners.delete(name) } };
    const otherWindow = { senderFrame: trusted.senderFrame, sender: { on: () => undefined, off: () => undefined } };
    const save = [{ backend: 'gadgetkeeper', url: 'http://127.0.0.1:9', fields: {}, secret: 'a-gadgetkeeper-api-key-0001', ports: ['/dev/ttyNOPE0'], autoStart: false }];
    expect(await call(window, 'saveSettings', save)).toMatchObject({ ok: false, error: expect.stringMatching(/^saveSettings: refused\. This station is in operator mode/) });
    expect(await call(window, 'useBuiltInProfile', ['reference-window'])).toMatchObject({ ok: false, error: expect.stringMatching(/operator mode/) });
    expect(await call(window, 'importProfile', ['{}'])).toMatchObject({ ok: false, error: expect.stringMatching(/operator mode/) });
    expect(settings.write).not.toHaveBeenCalled();
    expect(await call(window, 'unlockEngineer', [{ pin: '735911' }])).toEqual({ ok: true, value: { engineer: true, engineerPinSet: true, engineerLocksInMs: expect.any(Number) } });
    expect(await call(window, 'useBuiltInProfile', ['reference-window'])).toMatchObject({ ok: true, value: { profileName: 'reference-window' } });
    // Another window's page is its own session: still locked.
    expect(await call(otherWindow, 'useBuiltInProfile', ['reference'])).toMatchObject({ ok: false, error: expect.stringMatching(/operator mode/) });
    // The page loads again: locked, as a new connection is.
    listeners.get('did-navigate')!();
    expect(await call(window, 'useBuiltInProfile', ['reference'])).toMatchObject({ ok: false, error: expect.stringMatching(/operator mode/) });
  });

  it('streams updates to the window until it is destroyed, then never calls the window again', async () => {
    const line = (port: string): SettingsInput => ({ backend: 'gadgetkeeper', url: 'http://127.0.0.1:9', fields: {}, secret: 'a-gadgetkeeper-api-key-0001', ports: [port], autoStart: false });
    const sent: Array<{ type: string; snapshot?: { tiles: Array<{ port: string }> } }> = [];
    let windowCalls = 0;
    let destroyed = false;
    let onDestroyed: (() => void) | undefined;
    streamUpdates(desk, {
      send: (_channel: string, update: (typeof sent)[number]) => {
        windowCalls++;
        sent.push(update);
      },
      isDestroyed: () => {
        windowCalls++;
        return destroyed;
      },
      once: (event: string, fn: () => void) => {
        expect(event).toBe('destroyed');
        onDestroyed = fn;
      },
    } as never);
    expect(sent).toEqual([expect.objectContaining({ type: 'snapshot' })]);

    // A change on the desk (a line saved and opened) reaches the live window.
    await desk.saveSettings(line('/dev/ttyNOPE0'));
    expect(sent.at(-1)).toMatchObject({ type: 'snapshot', snapshot: { tiles: [{ port: '/dev/ttyNOPE0' }] } });

    // Gone: the next change must not reach the window, nor even ask it whether it is alive (a leaked listener would).
    destroyed = true;
    onDestroyed!();
    const callsBefore = windowCalls;
    await desk.saveSettings(line('/dev/ttyNOPE1'));
    expect(desk.snapshot().tiles.map((tile) => tile.port)).toEqual(['/dev/ttyNOPE1']);
    expect(windowCalls, 'calls into the window after it was destroyed').toBe(callsBefore);
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
    module: {
      app,
      BrowserWindow,
      ipcMain: { handle: vi.fn((channel: string, fn: unknown) => ipcHandlers.set(channel, fn)) },
      protocol: { registerSchemesAsPrivileged: vi.fn(), handle: vi.fn() },
      session,
    },
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

// The heap policy sets V8 flags in the whole process: here only whether the main process asks for it.
const heapPolicy = vi.hoisted(() => ({ holdHeapSteady: vi.fn() }));
vi.mock('../../main/core/heap-policy.ts', () => heapPolicy);

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

  it('denies every kind of permission request Electron names, and sets the CSP on every response', () => {
    // Electron 45's permission names (session.setPermissionRequestHandler): none is granted.
    const kinds = ['clipboard-read', 'clipboard-sanitized-write', 'display-capture', 'fullscreen', 'geolocation', 'idle-detection', 'media', 'mediaKeySystem', 'midi', 'midiSysex', 'notifications', 'pointerLock', 'keyboardLock', 'openExternal', 'speaker-selection', 'storage-access', 'top-level-storage-access', 'window-management', 'fileSystem', 'hid', 'serial', 'usb', 'unknown'];
    const granted = kinds.filter((kind) => {
      let answer: boolean | undefined;
      electron.permission()(undefined, kind, (ok) => {
        answer = ok;
      });
      return answer !== false;
    });
    expect(granted).toEqual([]);
    let headers: Record<string, string[]> = {};
    electron.headers()({ responseHeaders: { 'Content-Type': ['text/html'], 'Content-Security-Policy': ["default-src *"] } }, (r) => {
      headers = (r as { responseHeaders: Record<string, string[]> }).responseHeaders;
    });
    expect(headers['Content-Security-Policy']).toEqual([CONTENT_SECURITY_POLICY]);
    expect(headers['Content-Type']).toEqual(['text/html']);
  });

  it('holds its heap steady for a shift (its main process cannot take V8 flags on the command line)', () => {
    expect(heapPolicy.holdHeapSteady).toHaveBeenCalled();
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
