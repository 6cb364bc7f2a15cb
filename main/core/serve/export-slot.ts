/** Calls answered with a whole history export: up to 100 000 rows, built as one string in memory. */
export const EXPORT_METHODS: ReadonlySet<string> = new Set(['exportCsv', 'exportJson']);

export const EXPORT_BUSY = 'refused, an export is already running on this station (from this screen or another); try again when it finishes';

/**
 * One history export at a time for the whole server, whichever screen asks.
 * An export is held in memory from the call until its answer has gone to the
 * kernel for its client (or the client is gone), so the slot is held that
 * long: a token holder asking for many at once, on one socket or many, makes
 * the station hold one, not many. A refusal is immediate rather than queued:
 * a queue would have to hold the waiting calls too, and the screen already
 * shows an error and lets the user ask again.
 */
export class ExportSlot {
  private taken = false;

  /** The slot with the function that gives it back (once, however often it is called), or undefined when it is taken. */
  take(): (() => void) | undefined {
    if (this.taken) return undefined;
    this.taken = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.taken = false;
    };
  }
}
