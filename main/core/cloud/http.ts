import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { CancelledError, ConfigError } from '../errors.ts';
import { sleep } from '../sleep.ts';
import type { CloudBackend, CloudStep } from './cloud-adapter.ts';
import { BACKEND_NAMES, CloudError, type CloudFailure } from './cloud-error.ts';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 10_000 };

export interface HttpSettings {
  baseUrl: string;
  /** Plain http to a non-loopback host is refused unless this is set on purpose. */
  allowInsecureHttp?: boolean;
  timeoutMs?: number;
  retry?: RetryPolicy;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** HTTPS by default: credentials must not cross a network in the clear. */
export function checkBaseUrl(baseUrl: string, backend: CloudBackend, allowInsecureHttp = false, schemes = ['https:', 'http:']): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError(`the ${BACKEND_NAMES[backend]} URL "${baseUrl}" is not a valid URL`);
  }
  const [secure, plain] = schemes as [string, string];
  if (url.protocol !== secure && url.protocol !== plain) {
    throw new ConfigError(`the ${BACKEND_NAMES[backend]} URL must start with ${secure}//`);
  }
  if (url.protocol === plain && !isLoopbackHost(url.hostname) && !allowInsecureHttp) {
    throw new ConfigError(`the ${BACKEND_NAMES[backend]} URL uses ${plain}// to ${url.hostname}, which would send credentials unencrypted`, {
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

export function createHttpClient(settings: HttpSettings, backend: CloudBackend): AxiosInstance {
  const url = checkBaseUrl(settings.baseUrl, backend, settings.allowInsecureHttp);
  return axios.create({
    httpAgent: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    httpsAgent: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    baseURL: url.toString().replace(/\/$/, ''),
    timeout: settings.timeoutMs ?? 15_000,
    // Statuses are the adapter's to interpret; redirects could carry credentials elsewhere.
    validateStatus: () => true,
    maxRedirects: 0,
    // Bodies are parsed and validated by the adapters themselves.
    transformResponse: [(data: unknown) => data],
    responseType: 'text',
  });
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface ErrorContext {
  backend: CloudBackend;
  step: CloudStep;
  serial?: string;
}

/** Socket errors that happen before a connection exists: nothing was sent. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);

/**
 * A failure below HTTP (reset, refused, timeout). Axios errors carry the
 * request headers, so they are summarised, never attached.
 */
export function transportError(error: unknown, context: ErrorContext, mayHaveTakenEffect: boolean): CloudError {
  if (axios.isCancel(error) || (error instanceof Error && error.name === 'CanceledError')) {
    throw new CancelledError('the cloud call was cancelled', { where: { serial: context.serial, step: context.step } });
  }
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT';
  // No connection was made, so the request cannot have reached the cloud.
  const neverSent = code !== undefined && NEVER_CONNECTED.has(code);
  const name = BACKEND_NAMES[context.backend];
  return new CloudError(timedOut ? `${name} did not answer in time` : `could not reach ${name} (${code ?? 'connection failed'})`, {
    backend: context.backend,
    cloudStep: context.step,
    failure: timedOut ? 'timeout' : 'network',
    outcomeUnknown: mayHaveTakenEffect && !neverSent,
    where: { serial: context.serial, step: context.step },
    hint: 'Check the station\'s internet connection; the call can wait in the outbox.',
  });
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
  return new CloudError(`${what} (${BACKEND_NAMES[context.backend]} answered ${status})`, {
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
  return new CloudError(`${BACKEND_NAMES[context.backend]} sent an answer the station does not understand: ${what}`, {
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
 * One HTTP call with the station's policy: transport failures become typed
 * errors, `check` turns the response into a result or a typed error, and the
 * whole is repeated only where `retrySafe` allows.
 */
export function requestWithRetry<R, T>(
  context: ErrorContext,
  options: { retrySafe: boolean; policy?: RetryPolicy; signal?: AbortSignal },
  send: () => Promise<AxiosResponse<R>>,
  check: (response: AxiosResponse<R>) => T,
): Promise<T> {
  return withRetry(
    async () => {
      let response: AxiosResponse<R>;
      try {
        response = await send();
      } catch (error) {
        throw transportError(error, context, true);
      }
      return check(response);
    },
    options,
  );
}
