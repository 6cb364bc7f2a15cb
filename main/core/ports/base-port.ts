import { TimeoutError } from '../errors.ts';
import type { BytePort, PortCloseReason } from './byte-port.ts';
import { PortLifecycle } from './port-lifecycle.ts';

/** What the serial, TCP and in-memory ports share: listeners, the closed promise, and writes that cannot hang. */
export abstract class BaseBytePort implements BytePort {
  readonly path: string;
  protected readonly lifecycle: PortLifecycle;

  constructor(path: string) {
    this.path = path;
    this.lifecycle = new PortLifecycle(path);
  }

  get closed(): Promise<PortCloseReason> {
    return this.lifecycle.closed;
  }

  get isOpen(): boolean {
    return !this.lifecycle.isEnded;
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    return this.lifecycle.onData(listener);
  }

  abstract write(data: Uint8Array, options?: { timeoutMs?: number }): Promise<void>;
  abstract close(): Promise<void>;

  /**
   * Runs one write that must finish within timeoutMs. It fails at once if the
   * port ends meanwhile; if the time runs out the device is treated as gone
   * (`stalled` hangs the port up) so nothing waits on it again.
   */
  protected timedWrite(
    byteCount: number,
    timeoutMs: number,
    stall: { hint: string; hangUp: () => void },
    start: (done: (error?: Error | null) => void) => void,
  ): Promise<void> {
    if (this.lifecycle.isEnded) return Promise.reject(this.lifecycle.endedError());
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      const finish = (error?: Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        untrack();
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => {
        finish(new TimeoutError(`a write of ${byteCount} bytes did not finish within ${timeoutMs} ms`, { where: { port: this.path }, hint: stall.hint }));
        stall.hangUp();
      }, timeoutMs);
      const untrack = this.lifecycle.trackWrite(finish);
      start((error) => finish(error ? this.lifecycle.endedError() : undefined));
    });
  }
}
