import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { CancelledError, ConfigError } from '../errors.ts';
import { sleep } from '../sleep.ts';
import type { CloudBackend, CloudStep } from './cloud-adapter.ts';
import { CloudError, type CloudFailure } from './cloud-error.ts';
import { CallTimer } from './call-timer.ts';
import { formatBytes, formatDuration } from '../format.ts';
import { cloudLimits, type CloudLimits } from './limits.ts';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Calls with a fallback (writes wait in the outbox, a target version has an
 * offline answer): a few quick tries, then the fallback takes over.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 10_000 };

/**
 * Idempotent reads (the target version and the firmware download, whose
 * failure fails the unit): backoff 0.5, 1, 2, 4, 5, 5 s, each jittered to
 * between half and all of it, so a read rides out an outage of at least
 * 8.75 s (a cloud restarting, a run of 5xx), and a permanent failure still
 * ends after 7 attempts and at most 17.5 s of waiting.
 */
export const READ_RETRY: RetryPolicy = { attempts: 7, baseDelayMs: 500, maxDelayMs: 5_000 };

const READS: ReadonlySet<CloudStep> = new Set<CloudStep>(['target-version', 'download']);

/** The policy of a step: the one configured for every call, else READ_RETRY for reads and DEFAULT_RETRY for the rest. */
export function retryPolicyFor(step: CloudStep, configured?: RetryPolicy): RetryPolicy {
  return configured ?? (READS.has(step) ? READ_RETRY : DEFAULT_RETRY);
}

export interface HttpSettings extends Partial<CloudLimits> {
  baseUrl: string;
  /** Plain http to a non-loopback host is refused unless this is set on purpose. */
  allowInsecureHttp?: boolean;
  /** One policy for every call; by default reads ride out longer than calls with a fallback (retryPolicyFor). */
  retry?: RetryPolicy;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The user name and password part of a URL's text ("//user:password@"), as
 * a URL parser would find it: after the scheme and any slashes or
 * backslashes, up to the last "@" before the host ends. Found by text, so it
 * is cut out even of a URL that does not parse (a bad port, a bad host).
 */
const USERINFO = /^([\x00-\x20]*(?:[a-z][a-z0-9+.-]*:)?[/\\]*)[^/\\?#]*@/i;

/**
 * In text that does not parse as a URL, everything after the scheme up to its
 * last "@": a password may hold "/", "?" or "#" (which is why it did not
 * parse), so no shorter cut is safe.
 */
const UNPARSED_USERINFO = /^([\x00-\x20]*(?:[a-z][a-z0-9+.-]*:)?[/\\]*)[\s\S]*@/i;

/** Whether a URL carries a user name or password ("user:password@host"), parsed or, for text that does not parse, any "@" in it. */
export function hasUrlCredentials(url: URL | string): boolean {
  if (typeof url === 'string') return URL.canParse(url) ? USERINFO.test(url) || hasUrlCredentials(new URL(url)) : url.includes('@');
  return url.username !== '' || url.password !== '';
}

/** A URL as a screen or an error may show it: any user name or password taken out, from text that does not parse too. */
export function withoutUrlCredentials(url: string): string {
  if (!hasUrlCredentials(url)) return url;
  if (!URL.canParse(url)) return url.replace(UNPARSED_USERINFO, '$1');
  if (!hasUrlCredentials(new URL(url))) return url.replace(USERINFO, '$1');
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

/** HTTPS by default: credentials must not cross a network in the clear. A URL never carries credentials. */
export function checkBaseUrl(baseUrl: string, backend: CloudBackend, allowInsecureHttp = false, schemes = ['https:', 'http:']): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    // Quoted without any user name or password: the text may hold one even though it does not parse.
    throw new ConfigError(`the ${backend.label} URL "${withoutUrlCredentials(baseUrl)}" is not a valid URL`);
  }
  if (hasUrlCredentials(url)) {
    throw new ConfigError(`the ${backend.label} URL must not hold a user name or password (user:password@): screens and records show the URL`, {
      hint: 'Remove them from the URL; the cloud\'s secret belongs in its own field of the cloud settings.',
    });
  }
  const [secure, plain] = schemes as [string, string];
  if (url.protocol !== secure && url.protocol !== plain) {
    throw new ConfigError(`the ${backend.label} URL must start with ${secure}//`);
  }
  if (url.protocol === plain && !isLoopbackHost(url.hostname) && !allowInsecureHttp) {
    throw new ConfigError(`the ${backend.label} URL uses ${plain}// to ${url.hostname}, which would send credentials unencrypted`, {
      hint: `Use ${secure}//, or set allowInsecureHttp in the cloud settings if this network is trusted.`,
    });
  }
  return url;
}

/**
 * Idle keep-alive sockets are closed after this long, before common servers
 * (Node's 5 s, nginx's 75 s) close them: a request on a socket the server has
 * just closed fails with ECONNRESET, which would look like an outage, and for
 * a non-idempotent call (activation) leave its outcome unknown. Node also
 * honours a shorter Keep-Alive: timeout=N hint from the server.
 */
export const IDLE_SOCKET_MS = 4000;

/**
 * The station's axios client. It has no `timeout`: in Node that is a socket
 * idle timer, which a dripping answer never trips; every call runs under a
 * CallTimer instead (sendWithin). Answers larger than maxResponseBytes are cut
 * off as they arrive (downloads set their own limit).
 */
export function createHttpClient(settings: HttpSettings, backend: CloudBackend): AxiosInstance {
  const url = checkBaseUrl(settings.baseUrl, backend, settings.allowInsecureHttp);
  return axios.create({
    httpAgent: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    httpsAgent: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    baseURL: url.toString().replace(/\/$/, ''),
    // Every path goes under baseURL, even one that reads as a URL ("https://other/…", "//other/…"):
    // a configured path template must never take a key to another host.
    allowAbsoluteUrls: false,
    maxContentLength: cloudLimits(settings).maxResponseBytes,
    // Statuses are the adapter's to interpret; redirects could carry credentials elsewhere.
    validateStatus: () => true,
    maxRedirects: 0,
    // Bodies are parsed and validated by the adapters themselves.
    transformResponse: [(data: unknown) => data],
    responseType: 'text',
  });
}

/**
 * The longest wait a Retry-After can impose: 10 minutes. The outbox schedules
 * a call by it, and a cloud that says "ten years" (or is hostile) must not
 * park a unit's cloud record until then; retrying every 10 minutes costs
 * nothing.
 */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Retry-After in seconds or as an HTTP date, in milliseconds from now, capped at MAX_RETRY_AFTER_MS here where it is read. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  return Number.isNaN(ms) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

export interface ErrorContext {
  backend: CloudBackend;
  step: CloudStep;
  serial?: string;
}

/** Socket errors that happen before a connection exists: nothing was sent. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);

/**
 * A failure below HTTP (reset, refused, a limit of the call's timer, an
 * answer over the size limit). Axios errors carry the request headers, so
 * they are summarised, never attached. The operator's cancel stays a cancel.
 */
export function transportError(error: unknown, context: ErrorContext, mayHaveTakenEffect: boolean, timer?: CallTimer): CloudError | CancelledError {
  const name = context.backend.label;
  const where = { serial: context.serial, step: context.step };
  const hint = "Check the station's internet connection; the call can wait in the outbox.";
  if (timer?.expired) {
    return new CloudError(`${name} did not answer within ${formatDuration(timer.expired.ms)}`, {
      backend: context.backend,
      cloudStep: context.step,
      failure: 'timeout',
      outcomeUnknown: mayHaveTakenEffect,
      where,
      hint,
    });
  }
  if (axios.isCancel(error) || (error instanceof Error && error.name === 'CanceledError')) {
    return new CancelledError('the cloud call was cancelled', { where });
  }
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  if (code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test((error as Error).message)) {
    const limit = (error as { config?: { maxContentLength?: number } }).config?.maxContentLength ?? 0;
    return new CloudError(`${name} sent an answer larger than ${formatBytes(limit)}`, {
      backend: context.backend,
      cloudStep: context.step,
      failure: 'invalid-response',
      retryable: false,
      // The answer was cut off unread: the call may have taken effect.
      outcomeUnknown: mayHaveTakenEffect,
      where,
      hint: 'No provisioning answer is that large: check the cloud URL and path settings.',
    });
  }
  const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT';
  // No connection was made, so the request cannot have reached the cloud.
  const neverSent = code !== undefined && NEVER_CONNECTED.has(code);
  return new CloudError(timedOut ? `${name} did not answer in time` : `could not reach ${name} (${code ?? 'connection failed'})`, {
    backend: context.backend,
    cloudStep: context.step,
    failure: timedOut ? 'timeout' : 'network',
    outcomeUnknown: mayHaveTakenEffect && !neverSent,
    where,
    hint,
  });
}

/**
 * Sends one HTTP call whose whole answer must arrive within `timeoutMs`
 * (combined with the caller's signal); a transport failure becomes a typed
 * error. `mayHaveTakenEffect`: an unanswered call may still have happened.
 */
export async function sendWithin<R>(
  context: ErrorContext,
  call: { timeoutMs: number; signal?: AbortSignal; mayHaveTakenEffect: boolean },
  send: (signal: AbortSignal) => Promise<AxiosResponse<R>>,
): Promise<AxiosResponse<R>> {
  const timer = new CallTimer(call.signal);
  timer.limit('deadline', call.timeoutMs);
  try {
    return await send(timer.signal);
  } catch (error) {
    throw transportError(error, context, call.mayHaveTakenEffect, timer);
  } finally {
    timer.clear();
  }
}

/**
 * Maps an HTTP status to a typed error: "<what> (<Cloud> answered <status>)".
 * An adapter that knows what the status means adds the hint, and says when
 * repeating cannot help.
 */
export function statusError(response: AxiosResponse, context: ErrorContext, what: string, known: { hint?: string; retryable?: boolean } = {}): CloudError {
  const status = response.status;
  const failure: CloudFailure =
    status === 429 ? 'rate-limited' : status >= 500 ? 'server' : status === 401 ? 'unauthorized' : status === 404 ? 'not-found' : status === 409 ? 'conflict' : 'refused';
  return new CloudError(`${what} (${context.backend.label} answered ${status})`, {
    backend: context.backend,
    cloudStep: context.step,
    failure,
    status,
    retryAfterMs: parseRetryAfter(response.headers['retry-after']),
    where: { serial: context.serial, step: context.step },
    ...known,
  });
}

export function invalidResponse(context: ErrorContext, what: string): CloudError {
  return new CloudError(`${context.backend.label} sent an answer the station does not understand: ${what}`, {
    backend: context.backend,
    cloudStep: context.step,
    failure: 'invalid-response',
    retryable: true,
    where: { serial: context.serial, step: context.step },
    hint: 'Check the cloud URL and path settings.',
  });
}

/**
 * Runs a call, repeating it with exponential backoff and jitter only when the
 * call is safe to repeat and the failure is one that waiting can fix. A
 * Retry-After longer than the policy allows is not slept on: the error goes
 * back to the caller (the outbox schedules it).
 */
export async function withRetry<T>(call: () => Promise<T>, options: { retrySafe: boolean; policy?: RetryPolicy; signal?: AbortSignal }): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const again = options.retrySafe && error instanceof CloudError && error.retryable && attempt < policy.attempts;
      if (!again) throw error;
      if (error.retryAfterMs !== undefined && error.retryAfterMs > policy.maxDelayMs) throw error;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      await sleep(error.retryAfterMs ?? backoff, options.signal);
    }
  }
}

/**
 * One HTTP call with the station's policy: each attempt within its deadline,
 * transport failures as typed errors, `check` turns the response into a
 * result or a typed error, and the whole is repeated only where `retrySafe`
 * allows.
 */
export function requestWithRetry<R, T>(
  context: ErrorContext,
  options: { retrySafe: boolean; timeoutMs: number; policy?: RetryPolicy; signal?: AbortSignal },
  send: (signal: AbortSignal) => Promise<AxiosResponse<R>>,
  check: (response: AxiosResponse<R>) => T,
): Promise<T> {
  return withRetry(async () => check(await sendWithin(context, { timeoutMs: options.timeoutMs, signal: options.signal, mayHaveTakenEffect: true }, send)), options);
}

/**
 * Whether the cloud answers at all: one GET, any status counts; only a
 * connection or a deadline failure (offline) throws.
 */
export async function probeByGet(http: AxiosInstance, backend: CloudBackend, path: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await requestWithRetry(
    { backend, step: 'target-version' },
    { retrySafe: false, timeoutMs, signal },
    (callSignal) => http.get<string>(path, { signal: callSignal }),
    () => undefined,
  );
}
