import { StationError, type StationErrorOptions } from '../errors.ts';
import type { CloudBackend, CloudStep } from './cloud-adapter.ts';

export type CloudFailure =
  | 'network' // no connection, reset, DNS
  | 'timeout' // no answer in time
  | 'server' // 5xx
  | 'rate-limited' // 429
  | 'unauthorized' // bad or revoked key
  | 'not-found'
  | 'conflict'
  | 'refused' // any other 4xx
  | 'invalid-response'; // an answer that does not match the contract

export interface CloudErrorOptions extends StationErrorOptions {
  backend: CloudBackend;
  cloudStep: CloudStep;
  failure: CloudFailure;
  status?: number;
  /** From Retry-After, when the cloud said when to come back. */
  retryAfterMs?: number;
  /** The request may have taken effect even though no answer arrived. */
  outcomeUnknown?: boolean;
}

/** A failed cloud call: what failed, whether trying again can help, and never any credential. */
export class CloudError extends StationError {
  readonly backend: CloudBackend;
  readonly cloudStep: CloudStep;
  readonly failure: CloudFailure;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly outcomeUnknown: boolean;

  constructor(message: string, options: CloudErrorOptions) {
    super(`CLOUD_${options.failure.toUpperCase().replace('-', '_')}`, message, {
      retryable: options.retryable ?? ['network', 'timeout', 'server', 'rate-limited'].includes(options.failure),
      ...options,
    });
    this.backend = options.backend;
    this.cloudStep = options.cloudStep;
    this.failure = options.failure;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }
}
