import { contextBridge, ipcRenderer } from 'electron';
import { portListSchema, type StationBridge } from './contract.ts';

/** The one bridge: a few typed functions, answers validated before the page sees them. No ipcRenderer leaks out. */
const bridge: StationBridge = {
  async listPorts() {
    return portListSchema.parse(await ipcRenderer.invoke('ports:list'));
  },
};

contextBridge.exposeInMainWorld('station', bridge);
