/** What every long operation reports while it runs. */
export interface TransferProgress {
  bytesDone: number;
  total: number;
  /** Average since the start; 0 until the first bytes are done. */
  bytesPerSecond: number;
  /** Estimated from the average rate; undefined until there is a rate. */
  secondsLeft: number | undefined;
}

/** Turns "bytes done so far" into TransferProgress events. */
export class ProgressMeter {
  private readonly total: number;
  private readonly listener: ((progress: TransferProgress) => void) | undefined;
  private readonly started = performance.now();

  constructor(total: number, listener?: (progress: TransferProgress) => void) {
    this.total = total;
    this.listener = listener;
  }

  update(bytesDone: number): void {
    if (!this.listener) return;
    const seconds = (performance.now() - this.started) / 1000;
    const bytesPerSecond = seconds > 0 && bytesDone > 0 ? bytesDone / seconds : 0;
    const secondsLeft = bytesPerSecond > 0 ? (this.total - bytesDone) / bytesPerSecond : undefined;
    this.listener({ bytesDone, total: this.total, bytesPerSecond, secondsLeft });
  }

  finish(): void {
    this.update(this.total);
  }
}
