import { timingSafeEqual, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConfigError } from '../errors.ts';
import { dispatch } from '../desk/dispatch.ts';
import type { StationDesk } from '../desk/station-desk.ts';
import { CONTENT_SECURITY_POLICY } from './content-security-policy.ts';

export interface WebServerOptions {
  desk: StationDesk;
  /** The built renderer (out/renderer). */
  staticDir: string;
  host?: string;
  port?: number;
  /** Required for any address but loopback; browsers pass it as #token=… in the page address. */
  token?: string;
}

export interface RunningWebServer {
  url: string;
  close(): Promise<void>;
}

/** The same contract as the preload bridge, for a browser: 1 MiB leaves room for a device profile import. */
const MAX_MESSAGE_BYTES = 1_100_000;
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * `station serve`: the renderer's files and a WebSocket carrying the preload
 * contract, so a supervisor's browser or a headless station shows the same
 * screen. Loopback by default; any other address needs a token, and every
 * WebSocket must come from a page this server served (Origin check), so a
 * web page elsewhere cannot drive the station through the browser.
 */
export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && (options.token === undefined || options.token.length < 16)) {
    throw new ConfigError(`serving on ${host} needs an access token: it makes the station reachable from the network`, { hint: 'Give an access token of at least 16 characters (--token or STATION_TOKEN), or serve on 127.0.0.1.' });
  }
  const server = createServer((request, response) => void serveStatic(options.staticDir, request, response));
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (request, socket, head) => {
    const refusal = refuseUpgrade(request, options.token);
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => connect(ws, options.desk));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function refuseUpgrade(request: IncomingMessage, token: string | undefined): string | undefined {
  const url = new URL(request.url ?? '/', 'http://station');
  if (url.pathname !== '/ws') return '404 Not Found';
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${request.headers.host}`) return '403 Forbidden';
  if (token !== undefined && !sameSecret(url.searchParams.get('token') ?? '', token)) return '401 Unauthorized';
  return undefined;
}

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function connect(ws: WebSocket, desk: StationDesk): void {
  const send = (message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const unsubscribe = desk.subscribe((update) => send({ kind: 'update', update }));
  ws.on('close', unsubscribe);
  ws.on('error', unsubscribe);
  ws.on('message', (data, isBinary) => {
    void handleMessage(desk, isBinary ? undefined : data.toString()).then(send);
  });
}

/** A call on the wire: {id, method, params}. Anything else is answered with an error and does nothing. */
export async function handleMessage(desk: StationDesk, text: string | undefined): Promise<unknown> {
  let message: unknown;
  try {
    message = text === undefined ? undefined : JSON.parse(text);
  } catch {
    return { kind: 'answer', id: null, answer: { ok: false, error: 'refused: the message is not JSON' } };
  }
  if (typeof message !== 'object' || message === null || !Number.isSafeInteger((message as { id?: unknown }).id)) {
    return { kind: 'answer', id: null, answer: { ok: false, error: 'refused: a call is {"id": <integer>, "method": <name>, "params": [...]}' } };
  }
  const { id, method, params } = message as { id: number; method: unknown; params: unknown };
  return { kind: 'answer', id, answer: await dispatch(desk, method, params ?? []) };
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
    const body = await readFile(file);
    response.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.length });
    response.end(request.method === 'HEAD' ? undefined : body);
  } catch {
    response.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found. Was the renderer built (npm run build)?');
  }
}
