import { CancelledError, StationError, TimeoutError, TransferAbortedError, TransferError } from '../errors.ts';
import { framedBlocks } from './framed-image.ts';
import { notAcknowledged } from './not-acknowledged.ts';
import { ProgressMeter } from './progress.ts';
import type { SendOptions, SendResult, TransferLink } from './transfer-types.ts';
import { ABORT_SEQUENCE, ACK, CAN, CRC_REQUEST, EOT, NAK, batchEndFrame, headerFrame } from './xmodem-framing.ts';

/** How long the end-of-batch block waits for an ACK that may never come. */
const BATCH_END_GRACE_MS = 1000;

/**
 * Sends one file with YMODEM (block 0 with name and size, 1024-byte CRC-16
 * blocks, batch end) or XMODEM-1K (the same blocks, no header, no batch).
 * Stop-and-wait: each block is resent on NAK or timeout; two CANs from the
 * receiver abort. A failure sends CAN so the receiver stops too.
 */
export async function sendFileStopAndWait(link: TransferLink, options: SendOptions): Promise<SendResult> {
  const sender = new BlockSender(link, options);
  try {
    return await sender.run();
  } catch (error) {
    if (link.port.isOpen && !(error instanceof TransferAbortedError)) {
      await link.port.write(ABORT_SEQUENCE).catch(() => undefined);
    }
    throw error;
  }
}

class BlockSender {
  private readonly link: TransferLink;
  private readonly options: SendOptions;
  private readonly blockTimeoutMs: number;
  private readonly maxAttempts: number;
  private resends = 0;
  private blocks = 0;

  constructor(link: TransferLink, options: SendOptions) {
    this.link = link;
    this.options = options;
    this.blockTimeoutMs = options.blockTimeoutMs ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 10;
  }

  async run(): Promise<SendResult> {
    const { data, protocol } = this.options;
    const started = performance.now();
    const meter = new ProgressMeter(data.length, this.options.onProgress);
    // Framed while the receiver starts up, so no block is framed between a write and its ACK.
    const framing = framedBlocks(data);
    await this.awaitCrcRequest(this.options.startTimeoutMs ?? 30_000, 'the receiver to start (C)');

    if (protocol === 'ymodem') {
      await this.sendBlock(0, headerFrame(this.options.fileName, data.length));
      // After block 0 the receiver asks again with 'C' before the first data block.
      await this.awaitCrcRequest(this.blockTimeoutMs, 'the receiver to ask for data (C)');
    }

    const blocks = await framing;
    let written: Promise<void> | undefined;
    for (let index = 0; index < blocks.frames.length; index++) {
      // While the receiver checks this block, report the one before (reported after its ACK, an answer would wait for it).
      const reportPrevious = index > 0 ? () => meter.update(blocks.end(index - 1)) : undefined;
      ({ nextWritten: written } = await this.sendBlock(index + 1, blocks.frames[index]!, { written, next: blocks.frames[index + 1], whileWaiting: reportPrevious }));
    }

    await this.sendEndOfTransmission();
    if (protocol === 'ymodem') {
      await this.awaitCrcRequest(this.blockTimeoutMs, 'the receiver to ask for the next file (C)');
      await this.sendBatchEnd();
    }
    meter.finish();
    return { bytes: data.length, blocks: this.blocks, resends: this.resends, durationMs: performance.now() - started };
  }

  /** Waits for 'C'; other bytes (boot text, stray ACKs) are ignored, two CANs abort. */
  private async awaitCrcRequest(timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let lastWasCan = false;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw this.timeout(`no answer from ${what} within ${timeoutMs} ms`);
      const byte = await this.readByte(left, what);
      if (byte === CRC_REQUEST) return;
      if (byte === CAN && lastWasCan) throw this.abortedByReceiver();
      lastWasCan = byte === CAN;
    }
  }

  /**
   * Sends a framed block until it is acknowledged. `written`: its first write, already under way (sent on the
   * last block's ACK). `next`: the block after it, written the moment the ACK arrives, in the port's wake-up
   * (the awaits between the reader and this loop would otherwise delay every block); its write is returned.
   * `whileWaiting` runs once, after the first write, while the receiver works.
   */
  private async sendBlock(
    sequence: number,
    frame: Buffer,
    { written, next, whileWaiting }: { written?: Promise<void>; next?: Buffer; whileWaiting?: () => void } = {},
  ): Promise<{ nextWritten?: Promise<void> }> {
    let unanswered = 0;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      this.throwIfCancelled();
      if (attempt > 1) this.resends++;
      await (attempt === 1 && written ? written : this.link.port.write(frame));
      if (attempt === 1) whileWaiting?.();
      let nextWritten: Promise<void> | undefined;
      const writeNextOnAck = next
        ? (byte: number) => {
            if (byte !== ACK || this.options.signal?.aborted) return;
            nextWritten = this.link.port.write(next);
            // Awaited by the next block; marked handled so a failure is not reported as unhandled before then.
            nextWritten.catch(() => undefined);
          }
        : undefined;
      const answer = await this.awaitAnswer(sequence, this.blockTimeoutMs, writeNextOnAck);
      if (answer === 'ack') {
        this.blocks++;
        return { nextWritten };
      }
      if (answer === 'timeout') unanswered++;
    }
    throw this.notAcknowledged(`block ${sequence}`, unanswered);
  }

  private notAcknowledged(what: string, unanswered: number): TransferError {
    return notAcknowledged(this.link.port.path, what, this.maxAttempts, unanswered, this.blockTimeoutMs);
  }

  private async sendEndOfTransmission(): Promise<void> {
    let unanswered = 0;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      this.throwIfCancelled();
      await this.link.port.write(Uint8Array.of(EOT));
      // Receivers may NAK the first EOT to make sure it was not noise; send it again.
      const answer = await this.awaitAnswer(-1);
      if (answer === 'ack') return;
      if (answer === 'timeout') unanswered++;
    }
    throw this.notAcknowledged('the end of the transfer', unanswered);
  }

  /**
   * The all-NUL block 0 that ends a YMODEM batch. By now the file is complete
   * and its EOT acknowledged; receivers commonly exit right after this block
   * and some never ACK it, so silence here is success. A NAK still gets the
   * block again.
   */
  private async sendBatchEnd(): Promise<void> {
    const frame = batchEndFrame();
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      await this.link.port.write(frame);
      if ((await this.awaitAnswer(0, BATCH_END_GRACE_MS)) !== 'nak') break;
      this.resends++;
    }
    this.blocks++;
  }

  /** ACK, NAK, or a timeout. Stray bytes are skipped; two CANs abort. */
  private async awaitAnswer(sequence: number, timeoutMs = this.blockTimeoutMs, onByte?: (byte: number) => void): Promise<'ack' | 'nak' | 'timeout'> {
    const deadline = performance.now() + timeoutMs;
    let lastWasCan = false;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return 'timeout';
      let byte: number;
      try {
        byte = await this.readByte(left, `an answer to block ${sequence}`, onByte);
      } catch (error) {
        if (error instanceof TimeoutError) return 'timeout';
        throw error;
      }
      if (byte === ACK) return 'ack';
      if (byte === NAK) return 'nak';
      // A receiver that missed block 1 keeps asking with 'C'.
      if (byte === CRC_REQUEST && sequence === 1) return 'nak';
      if (byte === CAN && lastWasCan) throw this.abortedByReceiver();
      lastWasCan = byte === CAN;
    }
  }

  private readByte(timeoutMs: number, awaiting: string, onByte?: (byte: number) => void): Promise<number> {
    return this.link.reader.readByte({ timeoutMs, signal: this.options.signal, awaiting, onByte });
  }

  private throwIfCancelled(): void {
    if (this.options.signal?.aborted) throw new CancelledError('the transfer was cancelled', { where: { port: this.link.port.path } });
  }

  private timeout(message: string): StationError {
    return new TimeoutError(message, {
      where: { port: this.link.port.path },
      hint: 'The unit did not enter firmware receive mode; reboot it and retry.',
    });
  }

  private abortedByReceiver(): TransferAbortedError {
    return new TransferAbortedError('the receiver cancelled the transfer', { where: { port: this.link.port.path } });
  }
}
