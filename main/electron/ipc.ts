import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { CALL_CHANNEL, UPDATE_CHANNEL, type Update } from '../../contract/station-contract.ts';
import { dispatch } from '../core/desk/dispatch.ts';
import type { StationDesk } from '../core/desk/station-desk.ts';

export { CALL_CHANNEL, UPDATE_CHANNEL };

export interface IpcDeps {
  desk: StationDesk;
  /** True when the message comes from one of our own pages, never from navigated or foreign content. */
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
}

/**
 * The main-process side of the preload bridge: one channel for calls, whose
 * sender is checked before `dispatch` validates the payload against the
 * contract. A refused call changes nothing and answers with an error.
 */
export function registerIpc(ipcMain: Pick<IpcMain, 'handle'>, deps: IpcDeps): void {
  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, params: unknown, ...extra: unknown[]) => {
    if (!deps.isTrustedSender(event)) return { ok: false, error: `${String(method).slice(0, 64)}: refused, the sender is not a station page` };
    if (extra.length > 0) return { ok: false, error: `${String(method).slice(0, 64)}: refused, malformed message` };
    return dispatch(deps.desk, method, params);
  });
}

/** Streams the desk's updates to a window's page until the window goes away. */
export function streamUpdates(desk: StationDesk, contents: Pick<WebContents, 'send' | 'isDestroyed' | 'once'>): () => void {
  const unsubscribe = desk.subscribe((update: Update) => {
    if (!contents.isDestroyed()) contents.send(UPDATE_CHANNEL, update);
  });
  contents.once('destroyed', unsubscribe);
  return unsubscribe;
}
