import type { CloudError } from '../cloud/cloud-error.ts';
import { CancelledError } from '../errors.ts';

/** Failures that mean "the cloud cannot be reached", as opposed to "the cloud said no". */
export function isConnectivityFailure(error: unknown): error is CloudError {
  return typeof error === 'object' && error !== null && 'failure' in error && ((error as CloudError).failure === 'network' || (error as CloudError).failure === 'timeout');
}

/** Not checked yet (nothing has reached the cloud), reached, or shown unreachable by a probe. */
export type ConnectivityState = 'unknown' | 'online' | 'offline';

export interface ConnectivityOptions {
  /** Asks the cloud whether it answers at all; rejects when it cannot be reached. */
  probe: (signal: AbortSignal) => Promise<void>;
  /** A probe that takes longer than this counts as a failed one. */
  probeTimeoutMs?: number;
  /** While someone waits for the cloud, it is probed this often. */
  probeIntervalMs?: number;
}

/**
 * Whether the cloud can be reached, decided from evidence: one failed call
 * (a lost answer, a reset connection) only asks for a probe, and the station
 * is offline only when the probe fails too. Many ports failing at once share
 * one probe. Listeners hear every change.
 */
export class Connectivity {
  private current: ConnectivityState = 'unknown';
  private readonly listeners = new Set<(online: boolean) => void>();
  private readonly options: ConnectivityOptions;
  private probing: Promise<boolean> | undefined;

  constructor(options: ConnectivityOptions) {
    this.options = options;
  }

  get state(): ConnectivityState {
    return this.current;
  }

  /** True unless a probe showed the cloud unreachable: a station that has not checked yet tries. */
  get online(): boolean {
    return this.current !== 'offline';
  }

  /** A call reached the cloud (whatever it answered). */
  markOnline(): void {
    this.set('online');
  }

  /** A call failed to reach the cloud: probes once (shared by everyone who asks meanwhile) and resolves with whether it answers. */
  confirm(): Promise<boolean> {
    this.probing ??= this.runProbe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  /**
   * Resolves once the cloud answers, probing every probeIntervalMs; rejects
   * with CancelledError when the signal aborts, or with `onTimeout()` when
   * `timeoutMs` passes first.
   */
  async waitOnline(options: { timeoutMs: number; signal?: AbortSignal; onTimeout: () => Error }): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      if (options.signal?.aborted) throw new CancelledError();
      if (this.current === 'online' || (await this.confirm())) return;
      const left = deadline - Date.now();
      if (left <= 0) throw options.onTimeout();
      await this.nextChange(Math.min(left, this.options.probeIntervalMs ?? 2000), options.signal);
    }
  }

  onChange(listener: (online: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async runProbe(): Promise<boolean> {
    const signal = AbortSignal.timeout(this.options.probeTimeoutMs ?? 10_000);
    try {
      await this.options.probe(signal);
      this.set('online');
      return true;
    } catch {
      this.set('offline');
      return false;
    }
  }

  /** Waits until the state changes or `ms` pass, whichever is first. */
  private nextChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', aborted);
      };
      const timer = setTimeout(() => (done(), resolve()), ms);
      const unsubscribe = this.onChange(() => (done(), resolve()));
      const aborted = () => (done(), reject(new CancelledError()));
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  private set(state: 'online' | 'offline'): void {
    if (this.current === state) return;
    const wasOnline = this.online;
    this.current = state;
    if (wasOnline !== this.online || state === 'online') for (const listener of this.listeners) listener(this.online);
  }
}
