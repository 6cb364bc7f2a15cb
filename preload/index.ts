import { contextBridge, ipcRenderer } from 'electron';
import { createBridge, type Method } from './contract.ts';

// Kept in step with main/electron/ipc.ts; a sandboxed preload cannot import the main process's modules.
const CALL_CHANNEL = 'station:call';
const UPDATE_CHANNEL = 'station:update';

/**
 * The one bridge: the contract's calls and its update stream, each answer and
 * update validated before the page sees it. ipcRenderer itself never leaks
 * out; the page gets plain functions.
 */
const bridge = createBridge(
  (method: Method, params: unknown[]) => ipcRenderer.invoke(CALL_CHANNEL, method, params),
  (listener) => {
    const forward = (_event: unknown, update: unknown) => listener(update);
    ipcRenderer.on(UPDATE_CHANNEL, forward);
    return () => void ipcRenderer.removeListener(UPDATE_CHANNEL, forward);
  },
);

contextBridge.exposeInMainWorld('station', bridge);
