import { beforeAll, describe, expect, it, vi } from 'vitest';
import { methods, type StationBridge, type Update } from '../../contract/station-contract.ts';

const electron = vi.hoisted(() => {
  const exposed = new Map<string, unknown>();
  const listeners = new Map<string, (event: unknown, ...args: unknown[]) => void>();
  const ipcRenderer = {
    invoke: vi.fn(async (): Promise<unknown> => undefined),
    on: vi.fn((channel: string, fn: (event: unknown, ...args: unknown[]) => void) => listeners.set(channel, fn)),
    removeListener: vi.fn((channel: string) => listeners.delete(channel)),
  };
  return { exposed, listeners, ipcRenderer, contextBridge: { exposeInMainWorld: vi.fn((name: string, api: unknown) => exposed.set(name, api)) } };
});
vi.mock('electron', () => ({ contextBridge: electron.contextBridge, ipcRenderer: electron.ipcRenderer }));

describe('preload: the one bridge (electron mocked)', () => {
  let bridge: StationBridge;
  beforeAll(async () => {
    await import('../../preload/index.ts');
    bridge = electron.exposed.get('station') as StationBridge;
  });

  it('exposes window.station only: the contract’s calls and onUpdate, as plain functions, nothing of ipcRenderer', () => {
    expect([...electron.exposed.keys()]).toEqual(['station']);
    expect(Object.keys(bridge).sort()).toEqual([...Object.keys(methods), 'onUpdate'].sort());
    for (const value of Object.values(bridge)) expect(typeof value).toBe('function');
    expect(Object.values(bridge)).not.toContain(electron.ipcRenderer.invoke);
  });

  it('carries calls on one channel and validates the answers', async () => {
    electron.ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, value: { ok: true } });
    await expect(bridge.cancelPort('/dev/ttyUSB0')).resolves.toEqual({ ok: true });
    expect(electron.ipcRenderer.invoke).toHaveBeenLastCalledWith('station:call', 'cancelPort', ['/dev/ttyUSB0']);
    electron.ipcRenderer.invoke.mockResolvedValueOnce({ ok: false, error: 'port /dev/ttyUSB0 has no unit at work to cancel.' });
    await expect(bridge.cancelPort('/dev/ttyUSB0')).rejects.toThrow(/no unit at work/);
    // An answer outside the contract (here: a field a secret could ride in) never reaches the page.
    electron.ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, value: { ports: [], apiKey: 'leak' } });
    await expect(bridge.listPorts()).rejects.toThrow(/malformed answer/);
  });

  it('passes on valid updates and drops malformed ones', () => {
    const seen: Update[] = [];
    const stop = bridge.onUpdate((update) => seen.push(update));
    const deliver = electron.listeners.get('station:update')!;
    deliver({}, { type: 'connection', connected: true });
    deliver({}, { type: 'tile', tile: { port: '/dev/ttyUSB0' } });
    deliver({}, { type: 'eval', code: 'alert(1)' });
    expect(seen).toEqual([{ type: 'connection', connected: true }]);
    stop();
    expect(electron.listeners.has('station:update')).toBe(false);
  });
});
