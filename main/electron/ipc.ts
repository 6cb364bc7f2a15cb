import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { requestSchemas, type Channel, type PortList } from '../../preload/contract.ts';
import { PortDiscovery, type DiscoveredPort } from '../core/ports/discovery.ts';

export interface IpcDeps {
  /** True when the message comes from one of our own pages, never from navigated or foreign content. */
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
  listPorts?: () => Promise<DiscoveredPort[]>;
}

/** Registers the main-process side of the contract: every message's sender and payload are checked first. */
export function registerIpc(ipcMain: Pick<IpcMain, 'handle'>, deps: IpcDeps): void {
  const handle = (channel: Channel, handler: () => Promise<unknown>) => {
    ipcMain.handle(channel, async (event, ...args: unknown[]) => {
      if (!deps.isTrustedSender(event)) throw new Error(`${channel}: refused, the sender is not a station page`);
      const parsed = requestSchemas[channel].safeParse(args);
      if (!parsed.success) throw new Error(`${channel}: refused, malformed payload`);
      return handler();
    });
  };

  handle('ports:list', async (): Promise<PortList> => {
    const ports: DiscoveredPort[] = [];
    let problem: string | undefined;
    await new PortDiscovery({
      list: deps.listPorts,
      onEvent: (event) => {
        if (event.type === 'arrived') ports.push(event.port);
        if (event.type === 'enumeration-failed') problem = event.error.describe();
      },
    }).poll();
    return problem === undefined ? { ports } : { ports, problem };
  });
}

