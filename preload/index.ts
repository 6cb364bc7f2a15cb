import { contextBridge, ipcRenderer } from 'electron';
import { CALL_CHANNEL, createBridge, UPDATE_CHANNEL, type Method } from '../contract/station-contract.ts';

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
