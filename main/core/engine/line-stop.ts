/**
 * How a run of ports stops: when the caller's signal aborts, or at the first
 * failure no unit record can hold (the journal cannot be written), since no
 * other port could record its unit either. Ports watch `signal`; once every
 * port has ended, `settle` throws that first failure.
 */
export class LineStop {
  private readonly controller = new AbortController();
  private readonly outer: AbortSignal | undefined;
  private readonly follow = () => this.controller.abort();
  private failure: { error: unknown } | undefined;

  constructor(outer?: AbortSignal) {
    this.outer = outer;
    if (outer?.aborted) this.follow();
    else outer?.addEventListener('abort', this.follow, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A port's work failed outside any unit's record: every port stops, and the first such failure is the run's. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.controller.abort();
  }

  /** Call once every port has ended: lets go of the caller's signal, and throws the first failure, if there was one. */
  settle(): void {
    this.outer?.removeEventListener('abort', this.follow);
    if (this.failure) throw this.failure.error;
  }
}
