import WebSocket from 'ws';
import { z } from 'zod';
import type { CloudStep } from '../cloud-adapter.ts';
import { CloudError } from '../cloud-error.ts';
import { printableExcerpt } from '../../printable-text.ts';
import { FF, FLEET_FREEDOM } from './protocol.ts';
import { checkBaseUrl } from '../http.ts';
import { formatBytes, formatDuration } from '../../format.ts';
import { DEFAULT_CLOUD_LIMITS } from '../limits.ts';

export interface FleetFreedomSessionSettings {
  /** wss://socket.fleetfreedom.com; ws:// only to loopback or with allowInsecure. */
  url: string;
  username: string;
  password: string;
  userAgent?: string;
  /** A saved session id to resume instead of logging in again. */
  ghostId?: string;
  /** Called with each new session id, so the station can save it. */
  onGhostId?: (ghostId: string) => void;
  allowInsecure?: boolean;
  /** From opening the connection to the server's greeting (handshake included). */
  connectTimeoutMs?: number;
  /** From sending a request to its whole answer. */
  requestTimeoutMs?: number;
  /** The largest message accepted; a larger one closes the connection (a hostile server cannot fill memory). */
  maxMessageBytes?: number;
  keepAliveMs?: number;
  reconnectBaseDelayMs?: number;
  reconnectMaxDelayMs?: number;
}

const frameSchema = z.object({ errorCode: z.number().int(), message: z.string().optional(), reqId: z.number().int().optional() }).passthrough();
export type Frame = z.infer<typeof frameSchema>;

const SESSION_LOST = new Set<number>([FF.sessionExpired, FF.userNotLoggedIn]);
/** How much of a wrong answer's name an error quotes: the name is everything before the first space, of any length. */
const ANSWER_NAME_CHARS = 64;

interface Pending {
  name: string;
  step: CloudStep;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One Fleet Freedom WebSocket session: waits for connectionResponse before
 * sending, logs in or resumes a saved ghostId, correlates replies by reqId
 * with a timeout, keeps the session alive with noop, and reconnects (with
 * growing delays after failures) when a request needs it.
 */
export class FleetFreedomSession {
  private readonly settings: FleetFreedomSessionSettings;
  private socket: WebSocket | undefined;
  private connecting: Promise<WebSocket> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextReqId = 1;
  private ghostId: string | undefined;
  private failures = 0;
  private keepAlive: NodeJS.Timeout | undefined;
  private closed = false;
  /** The last error each connection reported, to say why it closed. */
  private readonly socketErrors = new WeakMap<WebSocket, Error>();

  constructor(settings: FleetFreedomSessionSettings) {
    checkBaseUrl(settings.url, FLEET_FREEDOM, settings.allowInsecure, ['wss:', 'ws:']);
    this.settings = settings;
    this.ghostId = settings.ghostId;
  }

  get sessionId(): string | undefined {
    return this.ghostId;
  }

  /** Sends `name` and resolves with its `nameResponse` (whatever its errorCode). A lost session is renewed once. */
  async request(name: string, body: Record<string, unknown>, step: CloudStep): Promise<Frame> {
    const frame = await this.send(name, body, step);
    if (!SESSION_LOST.has(frame.errorCode) || name === 'login') return frame;
    this.ghostId = undefined;
    this.drop();
    return this.send(name, body, step);
  }

  /**
   * Whether Fleet Freedom answers now: a connection attempt without waiting
   * out the reconnect back-off (the station paces its own probes), then noop.
   */
  async probe(): Promise<void> {
    await this.exchange(await this.connect('register', { now: true }), 'noop', {}, 'register');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.drop();
  }

  private async send(name: string, body: Record<string, unknown>, step: CloudStep): Promise<Frame> {
    const socket = await this.connect(step);
    return this.exchange(socket, name, body, step);
  }

  private exchange(socket: WebSocket, name: string, body: Record<string, unknown>, step: CloudStep): Promise<Frame> {
    const reqId = this.nextReqId++;
    const timeoutMs = this.settings.requestTimeoutMs ?? 10_000;
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(this.failure(step, 'timeout', `Fleet Freedom did not answer ${name} within ${formatDuration(timeoutMs)}`));
      }, timeoutMs);
      this.pending.set(reqId, { name, step, resolve, reject, timer });
      socket.send(`${name} ${JSON.stringify({ ...body, reqId })}`);
    });
  }

  private connect(step: CloudStep, options: { now?: boolean } = {}): Promise<WebSocket> {
    if (this.closed) return Promise.reject(this.failure(step, 'network', 'the Fleet Freedom session is closed'));
    // A connection still greeting or logging in is open but not ready: a request sent on it now would go out
    // before the login, unauthenticated. Everyone who asks meanwhile waits for it to be ready.
    if (this.connecting) return this.connecting;
    if (this.socket?.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    this.connecting = this.open(step, options.now === true).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(step: CloudStep, now: boolean): Promise<WebSocket> {
    if (this.failures > 0 && !now) {
      const base = this.settings.reconnectBaseDelayMs ?? 500;
      const delay = Math.min(this.settings.reconnectMaxDelayMs ?? 30_000, base * 2 ** (this.failures - 1)) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const url = `${this.settings.url.replace(/\/$/, '')}/${encodeURIComponent(this.ghostId ?? '')}`;
    const socket = new WebSocket(url, { handshakeTimeout: this.settings.connectTimeoutMs ?? 10_000, maxPayload: this.maxMessageBytes });
    // Kept for the whole connection: an error event with no listener would crash the process.
    socket.on('error', (error) => this.socketErrors.set(socket, error));
    try {
      const greeting = await this.greeting(socket, step);
      this.socket = socket;
      socket.on('message', (raw) => this.receive(raw.toString()));
      socket.on('close', () => this.lost(socket, step));
      if (greeting.errorCode !== 0) {
        if (!SESSION_LOST.has(greeting.errorCode)) throw this.failure(step, 'refused', `Fleet Freedom refused the connection (${describeCode(greeting)})`);
        await this.login(socket, step);
      }
      this.failures = 0;
      this.startKeepAlive(socket);
      return socket;
    } catch (error) {
      this.failures++;
      socket.terminate();
      if (error instanceof CloudError) throw error;
      if (isOversize(error)) throw this.oversize(step);
      throw this.failure(step, 'network', `could not reach Fleet Freedom (${(error as Error).message})`);
    }
  }

  /** Nothing may be sent before the server's connectionResponse. */
  private greeting(socket: WebSocket, step: CloudStep): Promise<Frame> {
    const timeoutMs = this.settings.connectTimeoutMs ?? 10_000;
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.failure(step, 'timeout', `Fleet Freedom sent no connectionResponse within ${formatDuration(timeoutMs)}`)), timeoutMs);
      socket.once('message', (raw) => {
        clearTimeout(timer);
        const parsed = parseFrame(raw.toString());
        if (!parsed || parsed.name !== 'connectionResponse') reject(this.failure(step, 'invalid-response', 'the first message was not connectionResponse'));
        else resolve(parsed.frame);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('close', () => {
        clearTimeout(timer);
        reject(this.failure(step, 'network', 'Fleet Freedom closed the connection'));
      });
    });
  }

  private async login(socket: WebSocket, step: CloudStep): Promise<void> {
    const { username, password, userAgent = 'ProvisioningStation' } = this.settings;
    const answer = await this.exchange(socket, 'login', { username, password, userAgent }, step);
    if (answer.errorCode === FF.invalidCredentials) {
      throw new CloudError(`Fleet Freedom refused the login of user ${username} (invalid credentials)`, {
        backend: FLEET_FREEDOM,
        cloudStep: step,
        failure: 'unauthorized',
        retryable: false,
        hint: 'Fix the Fleet Freedom username and password in the cloud settings.',
      });
    }
    const ghostId = typeof answer.ghostId === 'string' ? answer.ghostId : undefined;
    if (answer.errorCode !== 0 || !ghostId) throw this.failure(step, 'refused', `Fleet Freedom login failed (${describeCode(answer)})`);
    this.ghostId = ghostId;
    this.settings.onGhostId?.(ghostId);
  }

  private receive(text: string): void {
    const parsed = parseFrame(text);
    if (!parsed || parsed.frame.reqId === undefined) return; // unsolicited or malformed: nothing waits for it
    const reqId = parsed.frame.reqId;
    const waiter = this.pending.get(reqId);
    if (!waiter) return;
    this.pending.delete(reqId);
    clearTimeout(waiter.timer);
    if (parsed.name === `${waiter.name}Response`) {
      waiter.resolve(parsed.frame);
      return;
    }
    // The answer to X is XResponse: anything else under this reqId is not its answer, nor is another answer coming.
    // The request did reach the server, so whether it acted is unknown.
    waiter.reject(
      this.failure(waiter.step, 'invalid-response', `Fleet Freedom answered ${waiter.name} (request ${reqId}) with "${printableExcerpt(parsed.name, ANSWER_NAME_CHARS)}", not ${waiter.name}Response`, { outcomeUnknown: true }),
    );
  }

  private startKeepAlive(socket: WebSocket): void {
    clearInterval(this.keepAlive);
    this.keepAlive = setInterval(() => {
      this.exchange(socket, 'noop', {}, 'register').catch(() => socket.terminate());
    }, this.settings.keepAliveMs ?? 30_000);
    this.keepAlive.unref();
  }

  /** The connection went away: whatever was waiting may or may not have happened. */
  private lost(socket: WebSocket, step: CloudStep = 'register'): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    clearInterval(this.keepAlive);
    const oversize = isOversize(this.socketErrors.get(socket));
    for (const [reqId, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(oversize ? this.oversize(step) : this.failure(step, 'network', `the connection to Fleet Freedom was lost during ${waiter.name}`));
      this.pending.delete(reqId);
    }
  }

  private get maxMessageBytes(): number {
    return this.settings.maxMessageBytes ?? DEFAULT_CLOUD_LIMITS.maxResponseBytes;
  }

  private oversize(step: CloudStep): CloudError {
    return this.failure(step, 'invalid-response', `Fleet Freedom sent a message larger than ${formatBytes(this.maxMessageBytes)}, so the station closed the connection`);
  }

  private drop(): void {
    const socket = this.socket;
    if (socket) {
      this.lost(socket);
      socket.terminate();
    }
  }

  private failure(step: CloudStep, failure: 'network' | 'timeout' | 'refused' | 'invalid-response', message: string, options: { outcomeUnknown?: boolean } = {}): CloudError {
    const hints = {
      network: "Check the station's internet connection; the registration can wait in the outbox.",
      timeout: "Check the station's internet connection; the registration can wait in the outbox.",
      refused: 'Check the Fleet Freedom settings (URL, user, company).',
      'invalid-response': 'Check the Fleet Freedom URL: it may point at something other than the Fleet Freedom socket API.',
    };
    return new CloudError(message, {
      backend: FLEET_FREEDOM,
      cloudStep: step,
      failure,
      outcomeUnknown: options.outcomeUnknown ?? (failure === 'network' || failure === 'timeout'),
      retryable: failure !== 'refused',
      where: { step },
      hint: hints[failure],
    });
  }
}

export function parseFrame(text: string): { name: string; frame: Frame } | undefined {
  const space = text.indexOf(' ');
  if (space <= 0) return undefined;
  try {
    const frame = frameSchema.safeParse(JSON.parse(text.slice(space + 1)));
    return frame.success ? { name: text.slice(0, space), frame: frame.data } : undefined;
  } catch {
    return undefined;
  }
}

/** ws reports a message over maxPayload with this code, then closes with 1009. */
function isOversize(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
}

/** An error code with the cloud's own words, short and printable. */
function describeCode(frame: Frame): string {
  return `error ${frame.errorCode}${frame.message ? `: ${printableExcerpt(frame.message)}` : ''}`;
}
