import type { CloudError } from '../cloud/cloud-error.ts';

/** Failures that mean "the cloud cannot be reached", as opposed to "the cloud said no". */
export function isConnectivityFailure(error: unknown): error is CloudError {
  return typeof error === 'object' && error !== null && 'failure' in error && ((error as CloudError).failure === 'network' || (error as CloudError).failure === 'timeout');
}

/** Online or offline, from call failures and probes; listeners hear every change. */
export class Connectivity {
  private state: 'online' | 'offline' = 'online';
  private readonly listeners = new Set<(online: boolean) => void>();

  get online(): boolean {
    return this.state === 'online';
  }

  markOffline(): void {
    this.set('offline');
  }

  markOnline(): void {
    this.set('online');
  }

  onChange(listener: (online: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(state: 'online' | 'offline'): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.listeners) listener(state === 'online');
  }
}
