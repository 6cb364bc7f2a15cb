import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { CALL_CHANNEL, UPDATE_CHANNEL, type Update } from '../../contract/station-contract.ts';
import { APP_WINDOW, callName, dispatch, screenSession, type ScreenSession } from '../core/desk/dispatch.ts';
import type { StationDesk } from '../core/desk/station-desk.ts';
import { EXPORT_BUSY, EXPORT_METHODS, ExportSlot } from '../core/serve/export-slot.ts';

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
  const sessions = windowSessions();
  // A history export is built whole in memory: one at a time for every window, as `station serve` holds its screens to.
  const exportSlot = new ExportSlot();
  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, params: unknown, ...extra: unknown[]) => {
    if (!deps.isTrustedSender(event)) return { ok: false, error: `${callName(method)}: refused, the sender is not a station page` };
    if (extra.length > 0) return { ok: false, error: `${callName(method)}: refused, malformed message` };
    if (typeof method !== 'string' || !EXPORT_METHODS.has(method)) return dispatch(deps.desk, method, params, sessions.of(event.sender));
    const release = exportSlot.take();
    if (!release) return { ok: false, error: `${method}: ${EXPORT_BUSY}` };
    try {
      return await dispatch(deps.desk, method, params, sessions.of(event.sender));
    } finally {
      release();
    }
  });
}

/**
 * Each window's page has its own session, as each browser's socket has: a
 * window unlocked with the engineer PIN is unlocked until it locks, or its
 * page loads again (a reload starts locked, as a new connection does).
 */
function windowSessions(): { of(sender: WebContents | undefined): ScreenSession } {
  const sessions = new WeakMap<object, ScreenSession>();
  // A sender that cannot be told apart shares nothing: every call starts locked.
  return {
    of: (sender) => {
      if (!sender) return screenSession(APP_WINDOW);
      let session = sessions.get(sender);
      if (!session) {
        session = screenSession(APP_WINDOW);
        sessions.set(sender, session);
        const forget = () => {
          sessions.delete(sender);
          sender.off('did-navigate', forget);
          sender.off('destroyed', forget);
        };
        sender.on('did-navigate', forget);
        sender.on('destroyed', forget);
      }
      return session;
    },
  };
}

/** Streams the desk's updates to a window's page until the window goes away. */
export function streamUpdates(desk: StationDesk, contents: Pick<WebContents, 'send' | 'isDestroyed' | 'once'>): () => void {
  const unsubscribe = desk.subscribe((update: Update) => {
    if (!contents.isDestroyed()) contents.send(UPDATE_CHANNEL, update);
  });
  contents.once('destroyed', unsubscribe);
  return unsubscribe;
}
