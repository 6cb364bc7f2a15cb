import { timingSafeEqual, createHash } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ANSWER_ERROR_MAX } from '../../../contract/station-contract.ts';
import { ConfigError, describeError } from '../errors.ts';
import { failureText } from '../desk/screen-text.ts';
import { dispatch, screenSession, type CallerAccess, type ScreenSession } from '../desk/dispatch.ts';
import type { StationDesk } from '../desk/station-desk.ts';
import { CONTENT_SECURITY_POLICY } from './content-security-policy.ts';
import { EXPORT_BUSY, EXPORT_METHODS, ExportSlot } from './export-slot.ts';
import { pageFileType } from './page-file-type.ts';

export interface WebServerOptions {
  desk: StationDesk;
  /** The built renderer (out/renderer). */
  staticDir: string;
  host?: string;
  port?: number;
  /** At least 16 characters; required for any address but loopback. Browsers pass it as #token=… in the page address. */
  token?: string;
  /** Let browsers change settings, import profiles and upload firmware (`station serve --allow-settings`); refused otherwise. */
  allowSettings?: boolean;
  /** Host names besides loopback (and this machine's addresses when serving on all of them) that browsers may use. */
  allowedHosts?: string[];
  limits?: Partial<SocketLimits>;
}

/** What one client can make the server hold. */
export interface SocketLimits {
  /** WebSockets open at once; more are refused (503). */
  maxConnections: number;
  /** Calls of one socket being answered at once; the socket is not read meanwhile, and calls already read are answered "busy". */
  maxCallsInFlight: number;
  /** Bytes sent to a socket but not yet taken by its client; past this the socket is not read (its calls wait). */
  maxBufferedBytes: number;
  /** A client that takes none of those bytes for this long is not reading: it is disconnected. */
  stallMs: number;
  /**
   * The slowest link an export may go out on. An export is one message, so
   * a client reading it shows no progress until all of it is out; it gets
   * `stallMs` plus its size at this rate before it counts as not reading.
   */
  slowestExportBytesPerSecond: number;
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = { maxConnections: 16, maxCallsInFlight: 16, maxBufferedBytes: 4 * 1024 * 1024, stallMs: 10_000, slowestExportBytesPerSecond: 32 * 1024 };

export interface RunningWebServer {
  /** The page's address, without the token. */
  url: string;
  /** The Host header values this server answers to. */
  allowedHosts: ReadonlySet<string>;
  close(): Promise<void>;
}

/** The same contract as the preload bridge, for a browser: 1 MiB leaves room for a device profile import. */
const MAX_MESSAGE_BYTES = 1_100_000;
export const MIN_TOKEN_LENGTH = 16;
const SETTINGS_REFUSAL = 'This station serve was not started to allow changing settings from a browser. The operator can restart it with --allow-settings, or set the line up with --config.';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * `station serve`: the renderer's files and a WebSocket carrying the preload
 * contract, so a supervisor's browser or a headless station shows the same
 * screen. Loopback by default; any other address needs a token. Every request
 * must name this server in its Host header (loopback, the address it serves
 * on, or a name the operator allowed), so a web page that rebinds its own
 * name to this address is refused; every WebSocket must come from a page of
 * one of those origins, so a web page elsewhere cannot drive the station
 * through the browser. One client cannot make the server hold more than
 * `limits` allow.
 */
export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const host = options.host ?? '127.0.0.1';
  if (options.token !== undefined && options.token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(`the access token is ${options.token.length} characters long; it needs at least ${MIN_TOKEN_LENGTH}`, { hint: 'Give a longer token (e.g. openssl rand -hex 16), or none and let the station make one.' });
  }
  if (!isLoopback(host) && options.token === undefined) {
    throw new ConfigError(`serving on ${host} needs an access token: it makes the station reachable from the network`, { hint: `Give an access token of at least ${MIN_TOKEN_LENGTH} characters (STATION_TOKEN or --token-file), or serve on 127.0.0.1.` });
  }
  const limits = { ...DEFAULT_SOCKET_LIMITS, ...options.limits };
  const access: CallerAccess = { mayConfigure: options.allowSettings === true, refusal: SETTINGS_REFUSAL };
  let allowed: ReadonlySet<string> = new Set();
  const exportSlot = new ExportSlot();
  const server = createServer((request, response) => {
    if (!allowed.has((request.headers.host ?? '').toLowerCase())) {
      response.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end('This station does not answer to that host name. Open the address station serve printed; other names must be in allowedHosts of the station policy.');
      return;
    }
    void serveStatic(options.staticDir, request, response);
  });
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (request, socket, head) => {
    const refusal = refuseUpgrade(request, allowed, options.token) ?? (sockets.clients.size >= limits.maxConnections ? '503 Service Unavailable' : undefined);
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\n\r\n`);
      return;
    }
    // ws tracks the socket from the moment the upgrade completes, so the cap counts it at once.
    sockets.handleUpgrade(request, socket, head, (ws) => connect(ws, options.desk, access, limits, exportSlot));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  allowed = allowedHostHeaders(host, port, options.allowedHosts ?? []);
  return {
    url: `http://${hostPart(host)}:${port}/`,
    allowedHosts: allowed,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The Host header values a browser sends for this server: loopback names,
 * the address it serves on (every address of this machine when it serves on
 * all of them), and the operator's names; each with the port.
 */
export function allowedHostHeaders(host: string, port: number, extraNames: string[]): ReadonlySet<string> {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1', ...extraNames]);
  if (host === '0.0.0.0' || host === '::') {
    for (const addresses of Object.values(networkInterfaces())) for (const address of addresses ?? []) names.add(address.address.replace(/%.*$/, ''));
  } else {
    names.add(host);
  }
  const values = new Set<string>();
  for (const name of names) {
    const part = hostPart(name.toLowerCase());
    values.add(`${part}:${port}`);
    // Browsers leave out the default port.
    if (port === 80) values.add(part);
  }
  return values;
}

function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function refuseUpgrade(request: IncomingMessage, allowed: ReadonlySet<string>, token: string | undefined): string | undefined {
  const url = new URL(request.url ?? '/', 'http://station');
  if (url.pathname !== '/ws') return '404 Not Found';
  const host = (request.headers.host ?? '').toLowerCase();
  if (!allowed.has(host)) return '403 Forbidden';
  // Browsers always send an Origin; it must be a page of this server, by one of its own names.
  const origin = request.headers.origin;
  if (origin !== undefined && !(origin.toLowerCase().startsWith('http://') && allowed.has(origin.toLowerCase().slice('http://'.length)))) return '403 Forbidden';
  if (token !== undefined && !sameSecret(url.searchParams.get('token') ?? '', token)) return '401 Unauthorized';
  return undefined;
}

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * One screen's socket. It is read only while fewer than `maxCallsInFlight`
 * of its calls are being answered and fewer than `maxBufferedBytes` wait for
 * it to take them: otherwise TCP pushes back on the client, and calls
 * already read meanwhile are answered "busy". So what one client makes the
 * server hold is bounded, however fast it sends; a big answer (a CSV export)
 * still goes out whole to a client that reads it. A client that takes
 * nothing for `stallMs` while answers wait is disconnected; while an export
 * of any size waits, too, since until it is out no screen can export, once
 * it is overdue on the slowest link allowed.
 */
function connect(ws: WebSocket, desk: StationDesk, access: CallerAccess, limits: SocketLimits, exportSlot: ExportSlot): void {
  // This socket's own session: unlocked with the engineer PIN at most once, for as long as it stays open.
  const session = screenSession(access);
  let inFlight = 0;
  let lastTaken = Date.now();
  // Export answers handed to the socket and not yet out: each holds the server's one export slot meanwhile.
  let exportsGoingOut = 0;
  // By when the exports going out would be out on the slowest link allowed.
  let exportsDue = 0;
  const backlogged = () => ws.bufferedAmount > limits.maxBufferedBytes;
  // Not reading: more than it may leave unread, or an export (however small) that holds the slot for every screen and is overdue.
  const stalled = (now: number) => {
    if (now - lastTaken <= limits.stallMs) return false;
    if (exportsGoingOut > 0) return ws.bufferedAmount > 0 && now > exportsDue;
    return backlogged();
  };
  const holdOrRead = () => {
    const hold = inFlight >= limits.maxCallsInFlight || backlogged();
    if (hold && !ws.isPaused) ws.pause();
    else if (!hold && ws.isPaused) ws.resume();
  };
  /** `afterSent` runs once the message is out of this process's hands: given to the kernel, or dropped with a closed socket. */
  const send = (message: unknown, afterSent?: () => void) => {
    if (ws.readyState !== ws.OPEN) {
      afterSent?.();
      return;
    }
    // The client's time to take what it is sent counts from when something starts waiting for it, not from a quiet spell before.
    if (ws.bufferedAmount === 0) lastTaken = Date.now();
    const text = JSON.stringify(message);
    if (afterSent) {
      exportsGoingOut++;
      exportsDue = Math.max(exportsDue, Date.now() + limits.stallMs + (1000 * (ws.bufferedAmount + text.length)) / limits.slowestExportBytesPerSecond);
    }
    ws.send(text, () => {
      // Called once the frame went to the kernel (the client is taking what it is sent), or failed with the socket.
      if (afterSent) exportsGoingOut--;
      afterSent?.();
      lastTaken = Date.now();
      holdOrRead();
    });
    holdOrRead();
  };
  const watchdog = setInterval(
    () => {
      if (stalled(Date.now())) ws.terminate();
    },
    Math.min(1000, limits.stallMs / 2),
  );
  watchdog.unref();
  const unsubscribe = desk.subscribe((update) => send({ kind: 'update', update }));
  const stop = () => {
    clearInterval(watchdog);
    unsubscribe();
  };
  ws.on('close', stop);
  ws.on('error', stop);
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? undefined : data.toString();
    if (inFlight >= limits.maxCallsInFlight || backlogged()) {
      send(busyAnswer(text, limits.maxCallsInFlight));
      return;
    }
    inFlight++;
    holdOrRead();
    // A call that throws is answered with the reason: one client's message never ends the station.
    void handleMessage(desk, text, session, exportSlot)
      .catch((error: unknown): Reply => ({ message: { kind: 'answer', id: null, answer: { ok: false, error: failureText(`refused: ${describeError(error)}`, ANSWER_ERROR_MAX) } } }))
      .then(({ message, afterSent }) => {
        inFlight--;
        send(message, afterSent);
      });
  });
}

function busyAnswer(text: string | undefined, limit: number): unknown {
  let id: unknown = null;
  try {
    id = (JSON.parse(text ?? '') as { id?: unknown }).id;
  } catch {
    // answered without an id, as any malformed call is
  }
  return { kind: 'answer', id: Number.isSafeInteger(id) ? id : null, answer: { ok: false, error: `busy: this screen has ${limit} calls being answered, or has not taken their answers yet; try again when it has` } };
}

/** What goes back for one call, and what to do once it has been sent (give back the export slot). */
interface Reply {
  message: unknown;
  afterSent?: () => void;
}

/**
 * A call on the wire: {id, method, params}. Anything else is answered with an
 * error and does nothing. An export runs only with the server's one export
 * slot, which the reply gives back once sent.
 */
export async function handleMessage(desk: StationDesk, text: string | undefined, session: ScreenSession, exportSlot: ExportSlot): Promise<Reply> {
  let message: unknown;
  try {
    message = text === undefined ? undefined : JSON.parse(text);
  } catch {
    return { message: { kind: 'answer', id: null, answer: { ok: false, error: 'refused: the message is not JSON' } } };
  }
  if (typeof message !== 'object' || message === null || !Number.isSafeInteger((message as { id?: unknown }).id)) {
    return { message: { kind: 'answer', id: null, answer: { ok: false, error: 'refused: a call is {"id": <integer>, "method": <name>, "params": [...]}' } } };
  }
  const { id, method, params } = message as { id: number; method: unknown; params: unknown };
  if (typeof method !== 'string' || !EXPORT_METHODS.has(method)) return { message: { kind: 'answer', id, answer: await dispatch(desk, method, params ?? [], session) } };
  const release = exportSlot.take();
  if (!release) return { message: { kind: 'answer', id, answer: { ok: false, error: `${method}: ${EXPORT_BUSY}` } } };
  try {
    return { message: { kind: 'answer', id, answer: await dispatch(desk, method, params ?? [], session) }, afterSent: release };
  } catch (error) {
    release();
    throw error;
  }
}

async function serveStatic(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const headers = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(new URL(request.url ?? '/', 'http://station').pathname);
  } catch {
    response.writeHead(400, headers).end();
    return;
  }
  const file = normalize(join(root, path === '/' ? 'index.html' : path));
  if (!file.startsWith(normalize(root) + sep)) {
    response.writeHead(404, headers).end();
    return;
  }
  try {
    const real = await realFileInside(root, file);
    if (real === undefined) {
      response.writeHead(404, headers).end();
      return;
    }
    const body = await readFile(real);
    response.writeHead(200, { ...headers, 'Content-Type': pageFileType(file), 'Content-Length': body.length });
    response.end(request.method === 'HEAD' ? undefined : body);
  } catch {
    response.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found. Was the renderer built (npm run build)?');
  }
}

/**
 * The file's real path (links resolved) when it lies inside the real root,
 * else undefined: a symbolic link in the served folder that points elsewhere
 * (a data folder, a key) is not followed out of it. The path checked is the
 * path read. A missing file or root throws, as reading it would.
 */
async function realFileInside(root: string, file: string): Promise<string | undefined> {
  const [realRoot, realFile] = await Promise.all([realpath(root), realpath(file)]);
  return realFile.startsWith(realRoot + sep) ? realFile : undefined;
}
