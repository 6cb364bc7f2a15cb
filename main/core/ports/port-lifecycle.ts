import { PortDisconnectedError } from '../errors.ts';
import type { PortCloseReason } from './byte-port.ts';

/**
 * The bookkeeping every BytePort shares: data listeners and a `closed`
 * promise that settles exactly once, whichever way the port ends.
 */
export class PortLifecycle {
  readonly closed: Promise<PortCloseReason>;
  private readonly listeners = new Set<(chunk: Buffer) => void>();
  private readonly pendingWrites = new Set<(error: Error) => void>();
  private settle!: (reason: PortCloseReason) => void;
  private reason: PortCloseReason | undefined;

  private readonly path: string;

  constructor(path: string) {
    this.path = path;
    this.closed = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  get isEnded(): boolean {
    return this.reason !== undefined;
  }

  get endReason(): PortCloseReason | undefined {
    return this.reason;
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emitData(chunk: Buffer): void {
    for (const listener of this.listeners) listener(chunk);
  }

  /** Registers a write in flight so that it fails at once if the port ends; returns the deregistration. */
  trackWrite(fail: (error: Error) => void): () => void {
    this.pendingWrites.add(fail);
    return () => this.pendingWrites.delete(fail);
  }

  /** Marks the port closed on purpose. Returns false if it had already ended. */
  endClosed(): boolean {
    return this.end({ kind: 'closed' });
  }

  /** Marks the port gone (unplugged, hung up). Returns false if it had already ended. */
  endDisconnected(what: string): boolean {
    return this.end({ kind: 'disconnected', error: new PortDisconnectedError(what, { where: { port: this.path } }) });
  }

  /** The error a write or read should fail with now that the port has ended. */
  endedError(): PortDisconnectedError {
    const reason = this.reason;
    if (reason?.kind === 'disconnected') return reason.error;
    return new PortDisconnectedError('the port was closed', { where: { port: this.path }, hint: undefined });
  }

  private end(reason: PortCloseReason): boolean {
    if (this.reason) return false;
    this.reason = reason;
    this.listeners.clear();
    this.settle(reason);
    const error = this.endedError();
    for (const fail of this.pendingWrites) fail(error);
    this.pendingWrites.clear();
    return true;
  }
}
