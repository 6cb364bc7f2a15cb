import type { Readable } from 'node:stream';

export type CallLimitName = 'deadline' | 'stall';

/**
 * The time limits of one cloud call, as one AbortSignal that also follows the
 * caller's. axios' own `timeout` is a socket idle timer in Node, so an answer
 * that drips a byte now and then never trips it; these timers run over the
 * whole call whatever arrives. `expired` says which limit ended the call, so
 * a deadline is told apart from the operator cancelling.
 */
export class CallTimer {
  readonly signal: AbortSignal;
  /** The limit that ended the call, if one did. */
  expired: { name: CallLimitName; ms: number } | undefined;
  private readonly controller = new AbortController();
  private readonly timers = new Map<CallLimitName, NodeJS.Timeout>();
  private readonly caller: AbortSignal | undefined;
  private readonly onCallerAbort = () => this.controller.abort(this.caller?.reason);

  constructor(caller?: AbortSignal) {
    this.signal = this.controller.signal;
    this.caller = caller;
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /** (Re)starts a limit: `ms` from now the call ends unless the limit is started again or cleared. */
  limit(name: CallLimitName, ms: number): void {
    clearTimeout(this.timers.get(name));
    this.timers.set(
      name,
      setTimeout(() => {
        if (this.signal.aborted) return;
        this.expired = { name, ms };
        this.controller.abort(new Error(`cloud call ${name} of ${ms} ms expired`));
      }, ms),
    );
  }

  /** Stops every limit and lets go of the caller's signal; call when the call is over. */
  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

/**
 * A streamed answer's chunks under a stall limit that every chunk restarts.
 * When the timer ends the call the stream is destroyed, so iteration ends at
 * once even if the HTTP client had already let go of the signal.
 */
export async function* chunksWithin(body: Readable, timer: CallTimer, stallMs: number): AsyncGenerator<Buffer> {
  const stop = () => body.destroy(new Error('the cloud call ended'));
  if (timer.signal.aborted) stop();
  timer.signal.addEventListener('abort', stop, { once: true });
  try {
    timer.limit('stall', stallMs);
    for await (const chunk of body as AsyncIterable<Buffer>) {
      timer.limit('stall', stallMs);
      yield chunk;
    }
  } finally {
    timer.signal.removeEventListener('abort', stop);
  }
}
