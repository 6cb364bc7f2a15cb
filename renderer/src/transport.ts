import { answerSchema, createBridge, type Method, type StationBridge } from '../../contract/station-contract.ts';

declare global {
  interface Window {
    station?: StationBridge;
  }
}

const CALL_TIMEOUT_MS = 30_000;

/**
 * The station, whatever carries it: Electron's preload bridge when there is
 * one, else the WebSocket of the `station serve` that served this page. The
 * rest of the UI only ever sees a StationBridge.
 */
export function connectStation(): StationBridge {
  if (window.station) return window.station;
  const token = accessToken();
  return webSocketBridge(webSocketUrl(token), token === undefined ? NO_TOKEN : REFUSED);
}

const TOKEN_KEY = 'station-access-token';
const NO_TOKEN = 'This page was opened without its access token. Open the address station serve printed: it ends in #token=….';
const REFUSED = 'The station cannot be reached or refused this page. Open the address station serve printed (it ends in #token=…). Retrying…';
const REFUSED_AFTER_RESTART =
  'The station is running but refuses this screen: a restarted station has a new access token (or too many screens are open). Open the address station serve printed when it started (it ends in #token=…). Retrying…';

/** Whether the station that served this page answers it now: a socket refused while it does was refused, not left unanswered. */
function stationAnswers(): Promise<boolean> {
  return fetch(`${location.pathname}${location.search}`, { cache: 'no-store' }).then(
    (response) => response.ok,
    () => false,
  );
}

function webSocketUrl(token: string | undefined): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

/**
 * The access token `station serve` printed in the address's fragment, which
 * browsers never send to a server or log. It is kept for this tab only
 * (sessionStorage), so a reload still connects, and taken out of the address
 * bar, so it is not in screenshots, bookmarks or over a shoulder.
 */
function accessToken(): string | undefined {
  const fromAddress = new URLSearchParams(location.hash.slice(1)).get('token');
  try {
    if (fromAddress) {
      sessionStorage.setItem(TOKEN_KEY, fromAddress);
      history.replaceState(history.state, '', `${location.pathname}${location.search}`);
      return fromAddress;
    }
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    // No storage (a locked-down browser): the address keeps the token, so a reload still works.
    return fromAddress ?? undefined;
  }
}

/** The contract over a WebSocket, reconnecting by itself; every call has a timeout. `neverConnected` says why, until it once connects. */
function webSocketBridge(url: string, neverConnected: string): StationBridge {
  let socket: WebSocket | undefined;
  let connectedOnce = false;
  let nextId = 1;
  let retryMs = 500;
  const waiting = new Map<number, (answer: unknown) => void>();
  const listeners = new Set<(raw: unknown) => void>();
  const outgoing: string[] = [];

  const open = () => {
    const ws = new WebSocket(url);
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      retryMs = 500;
      connectedOnce = true;
      for (const listener of listeners) listener({ type: 'connection', connected: true });
      for (const message of outgoing.splice(0)) ws.send(message);
    };
    ws.onmessage = (event) => {
      let message: unknown;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (typeof message !== 'object' || message === null) return;
      const { kind, id, answer, update } = message as { kind?: unknown; id?: unknown; answer?: unknown; update?: unknown };
      if (kind === 'update') for (const listener of listeners) listener(update);
      if (kind === 'answer' && typeof id === 'number') {
        waiting.get(id)?.(answerSchema.safeParse(answer).success ? answer : undefined);
        waiting.delete(id);
      }
    };
    ws.onclose = () => {
      for (const [id, resolve] of waiting) {
        resolve({ ok: false, error: 'The connection to the station was lost; reconnecting. Try again in a moment.' });
        waiting.delete(id);
      }
      for (const listener of listeners) listener({ type: 'connection', connected: false, ...(connectedOnce ? {} : { problem: neverConnected }) });
      // Reconnecting for ever to a station that answers but refuses: say why (its token changed when it restarted).
      if (connectedOnce && !opened) {
        void stationAnswers().then((answers) => {
          if (!answers || socket?.readyState === WebSocket.OPEN) return;
          for (const listener of listeners) listener({ type: 'connection', connected: false, problem: REFUSED_AFTER_RESTART });
        });
      }
      setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, 10_000);
    };
  };
  open();

  const call = (method: Method, params: unknown[]) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      const message = JSON.stringify({ id, method, params });
      const timer = setTimeout(() => {
        waiting.delete(id);
        // Told it failed, the user may do it again or otherwise: a call still held for a reconnect is never sent after that.
        const held = outgoing.indexOf(message);
        if (held >= 0) outgoing.splice(held, 1);
        resolve({ ok: false, error: `${method}: the station did not answer within ${CALL_TIMEOUT_MS / 1000} s` });
      }, CALL_TIMEOUT_MS);
      waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      if (socket?.readyState === WebSocket.OPEN) socket.send(message);
      else outgoing.push(message);
    });
  return createBridge(call, (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  });
}
