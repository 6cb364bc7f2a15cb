import { CancelledError } from './errors.ts';

/** At most `limit` tasks at once; the rest wait their turn in order. */
export class Limiter {
  private readonly limit: number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  /**
   * Runs `task` when its turn comes. When `signal` aborts first, the task
   * never runs: it leaves the queue at once and `run` rejects with a
   * CancelledError.
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.turn(signal);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private async turn(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw notStarted();
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const take = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = () => {
        this.waiting.splice(this.waiting.indexOf(take), 1);
        reject(notStarted());
      };
      this.waiting.push(take);
      signal?.addEventListener('abort', leave, { once: true });
    });
    // The turn was handed over in the same tick as an abort: give it to the next one.
    if (signal?.aborted) {
      this.release();
      throw notStarted();
    }
  }

  /** A finished task hands its place straight to the next in line, so no newcomer can slip past the limit meanwhile. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

function notStarted(): CancelledError {
  return new CancelledError('stopped before its turn came');
}
