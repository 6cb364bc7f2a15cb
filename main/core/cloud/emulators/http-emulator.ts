import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a route answers. A body object is sent as JSON. */
export interface EmulatorReply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string | object;
}

export interface EmulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A fault for the next matching calls. `step` names the emulator's route
 * ("activate", "download"…); `times` how many calls it hits (default 1).
 */
export type FaultRule = { step: string; times?: number } & (
  | { kind: 'status'; status: number; retryAfterSeconds?: number }
  | { kind: 'latency'; ms: number }
  /** Sends the headers and half the body, then resets the connection. */
  | { kind: 'reset-mid-body' }
  /** Never answers (the client must time out). */
  | { kind: 'no-answer' }
  /** Does the work (e.g. issues the key), then drops the connection: the answer is lost. */
  | { kind: 'drop-after-effect' }
  /** Answers with the right status and length but a damaged body. */
  | { kind: 'garbage-body' }
);

export interface RouteResult {
  step: string;
  /** Runs the route's effect and builds its answer. */
  run: () => EmulatorReply;
}

export type Router = (request: EmulatorRequest) => RouteResult;

export interface RunningEmulator {
  url: string;
  /** Calls answered per step, for tests and the cloud-economy benchmark. */
  calls: Map<string, number>;
  /** The most calls of each step that were being answered at the same time, for tests of how many requests a client has out at once. */
  peakInFlight: Map<string, number>;
  addFault(rule: FaultRule): void;
  /** Network down: every connection is reset at once until set back. */
  setOffline(offline: boolean): void;
  stop(): Promise<void>;
}

const MAX_BODY = 1 << 20;

/** Serves a Router over HTTP with counters and fault injection; port 0 picks a free port. */
export async function serveEmulator(router: Router, options: { port?: number; host?: string } = {}): Promise<RunningEmulator> {
  const calls = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const peakInFlight = new Map<string, number>();
  const faults: Array<FaultRule & { left: number }> = [];
  const sockets = new Set<import('node:net').Socket>();

  const takeFaults = (step: string) => {
    const hits = faults.filter((fault) => fault.step === step && fault.left > 0);
    for (const hit of hits) hit.left--;
    return hits;
  };

  let offline = false;
  const server = http.createServer(async (req, res) => {
    if (offline) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(chunk);
    }
    const url = new URL(req.url ?? '/', 'http://emulator');
    // For benchmarks and tests in another process: how many calls each step got (not itself counted).
    if (url.pathname === '/__emulator/calls') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.fromEntries(calls)));
      return;
    }
    const request: EmulatorRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks) };
    const route = router(request);
    calls.set(route.step, (calls.get(route.step) ?? 0) + 1);
    const running = (inFlight.get(route.step) ?? 0) + 1;
    inFlight.set(route.step, running);
    peakInFlight.set(route.step, Math.max(running, peakInFlight.get(route.step) ?? 0));
    res.once('close', () => inFlight.set(route.step, inFlight.get(route.step)! - 1));
    const hits = takeFaults(route.step);
    for (const hit of hits) if (hit.kind === 'latency') await new Promise((resolve) => setTimeout(resolve, hit.ms));
    const fault = hits.find((hit) => hit.kind !== 'latency');
    if (fault?.kind === 'no-answer') return; // the socket stays open and silent
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      res.writeHead(fault.status, headers).end(JSON.stringify({ error: `injected ${fault.status}` }));
      return;
    }
    const reply = route.run();
    if (fault?.kind === 'drop-after-effect') {
      req.socket.destroy();
      return;
    }
    let body = reply.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
    if (fault?.kind === 'garbage-body') body = Buffer.alloc(body.length, 0x7e);
    const headers: Record<string, string> = { 'content-length': String(body.length), ...reply.headers };
    if (reply.body !== undefined && typeof reply.body === 'object' && !Buffer.isBuffer(reply.body)) headers['content-type'] ??= 'application/json';
    if (fault?.kind === 'reset-mid-body') {
      res.writeHead(reply.status, headers);
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    res.writeHead(reply.status, headers).end(body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    calls,
    peakInFlight,
    addFault: (rule) => faults.push({ ...rule, left: rule.times ?? 1 }),
    // Like a factory whose internet is down: connections are refused, so nothing reaches the cloud (a request already
    // on its way is cut off unanswered). Back online, the emulator listens on the same port again.
    setOffline: (value) => {
      if (value === offline) return;
      offline = value;
      if (offline) {
        server.close();
        for (const socket of sockets) socket.destroy();
      } else {
        server.listen(address.port, options.host ?? '127.0.0.1');
      }
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Firmware images for emulators: deterministic bytes from a seed, so large images need no files. */
export function seededBytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let state = 2166136261;
  for (const char of seed) state = Math.imul(state ^ char.charCodeAt(0), 16777619) >>> 0;
  for (let i = 0; i < size; i++) {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}
