import { CancelledError, TimeoutError, TransferAbortedError, TransferError } from '../errors.ts';
import { readBlock } from './block-reader.ts';
import { framedBlocks } from './framed-image.ts';
import { ProgressMeter } from './progress.ts';
import type { ReceivedFile, SendOptions, SendResult, TransferLink } from './transfer-types.ts';
import { ABORT_SEQUENCE, ACK, CAN, EOT, LARGE_BLOCK, NAK, headerFrame, parseHeader } from './xmodem-framing.ts';
import { notAcknowledged } from './not-acknowledged.ts';

/**
 * "ymodem-window": YMODEM-1K's blocks with a sliding window, in the manner of
 * SEAlink, so a line with latency streams instead of stopping after every
 * block. Documented for device makers in profiles/ymodem-window.md.
 *
 *   receiver  'W' (repeated until block 0 comes)      asks for a windowed transfer
 *   sender    block 0: "name NUL size" (as YMODEM)
 *   receiver  ACK 0 ~0
 *   sender    blocks 1, 2, … (sequence mod 256), up to WINDOW unacknowledged
 *   receiver  ACK s ~s for each block in order (cumulative: s and all before)
 *             NAK s ~s once when block s is damaged or missing (go back to s);
 *             it drops blocks after a gap until s comes again
 *   sender    EOT once every block is acknowledged; it takes the next sequence number n
 *   receiver  ACK n ~n
 *
 * Every answer is three bytes, so a damaged answer is recognised and ignored;
 * two CANs in a row abort from either side. Without an answer that moves
 * the transfer on for `blockTimeoutMs` (repeated ACKs of blocks already
 * acknowledged do not count) the sender goes back to the oldest
 * unacknowledged block.
 */

export const WINDOW_REQUEST = 0x57; // 'W'
const DEFAULT_WINDOW = 16;
/** Keeps every sequence number in [base - 1, next] distinct mod 256. */
const MAX_WINDOW = 120;

type Answer = { type: 'ack' | 'nak'; sequence: number };

export async function sendFileWindowed(link: TransferLink, options: SendOptions & { window?: number }): Promise<SendResult> {
  try {
    return await new WindowSender(link, options).run();
  } catch (error) {
    if (link.port.isOpen && !(error instanceof TransferAbortedError)) await link.port.write(ABORT_SEQUENCE).catch(() => undefined);
    throw error;
  }
}

class WindowSender {
  private readonly link: TransferLink;
  private readonly options: SendOptions & { window?: number };
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private lastWasCan = false;
  private resends = 0;

  constructor(link: TransferLink, options: SendOptions & { window?: number }) {
    this.link = link;
    this.options = options;
    this.timeoutMs = options.blockTimeoutMs ?? 3000;
    this.maxAttempts = options.maxAttempts ?? 10;
  }

  async run(): Promise<SendResult> {
    const { data } = this.options;
    const started = performance.now();
    const meter = new ProgressMeter(data.length, this.options.onProgress);
    // Framed while the receiver starts up, once for every port sending this image.
    const framing = framedBlocks(data);
    await this.awaitRequest();

    await this.stopAndWait(headerFrame(this.options.fileName, data.length), 0, 'the file header');

    const blocks = await framing;
    const frames = blocks.frames;

    const window = Math.max(1, Math.min(this.options.window ?? DEFAULT_WINDOW, MAX_WINDOW));
    let base = 0;
    let next = 0;
    let attempts = 0;
    /** Tries since the transfer last moved that met silence, not a NAK. */
    let unanswered = 0;
    // Restarted only by an answer that moves the transfer (or by going back): a receiver repeating a stale ACK is silence.
    let deadline = 0;
    let restartDeadline = true;
    while (base < frames.length) {
      while (next < frames.length && next - base < window) {
        this.throwIfCancelled();
        await this.link.port.write(frames[next]!);
        next++;
      }
      if (restartDeadline) deadline = performance.now() + this.timeoutMs;
      restartDeadline = false;
      const answer = await this.readAnswer(deadline);
      if (answer === 'timeout') {
        unanswered++;
        if (++attempts >= this.maxAttempts) throw this.gaveUp(`block ${base + 1}`, unanswered);
        this.resends += next - base;
        next = base;
        restartDeadline = true;
        continue;
      }
      const index = this.resolve(answer.sequence, base, next);
      if (index === undefined) continue;
      if (answer.type === 'ack' && index >= base && index < next) {
        base = index + 1;
        attempts = 0;
        unanswered = 0;
        restartDeadline = true;
        meter.update(blocks.end(index));
      } else if (answer.type === 'nak' && index >= base) {
        if (++attempts >= this.maxAttempts) throw this.gaveUp(`block ${index + 1}`, unanswered);
        this.resends += next - index;
        base = index;
        next = index;
        restartDeadline = true;
      }
    }

    await this.stopAndWait(Uint8Array.of(EOT), (frames.length + 1) & 0xff, 'the end of the transfer');
    meter.finish();
    return { bytes: data.length, blocks: frames.length + 1, resends: this.resends, durationMs: performance.now() - started };
  }

  /** Sends one thing and waits for the ACK of `sequence`, sending it again on NAK or silence. */
  private async stopAndWait(frame: Uint8Array, sequence: number, what: string): Promise<void> {
    let unanswered = 0;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      this.throwIfCancelled();
      await this.link.port.write(frame);
      // One deadline per attempt: ACKs of other sequences do not extend it.
      const deadline = performance.now() + this.timeoutMs;
      for (;;) {
        const answer = await this.readAnswer(deadline);
        if (answer === 'timeout') unanswered++;
        if (answer === 'timeout' || answer.type === 'nak') break;
        if (answer.sequence === sequence) return;
      }
      this.resends++;
    }
    throw this.gaveUp(what, unanswered);
  }

  /** Which block, from the last acknowledged to the next unsent, the 8-bit sequence names: the window is under 121, so at most one. */
  private resolve(sequence: number, base: number, next: number): number | undefined {
    for (let index = Math.max(base - 1, 0); index <= next; index++) if (((index + 1) & 0xff) === sequence) return index;
    return undefined;
  }

  private async awaitRequest(): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    const deadline = performance.now() + timeoutMs;
    const silent = () =>
      new TimeoutError(`no answer from the receiver to start (W) within ${timeoutMs} ms`, {
        where: { port: this.link.port.path },
        hint: 'The unit did not enter firmware receive mode, or it does not speak ymodem-window (a plain YMODEM unit asks with C); check the device profile.',
      });
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw silent();
      const byte = await this.readByte(left, 'the receiver to start (W)').catch((error: unknown) => {
        throw error instanceof TimeoutError ? silent() : error;
      });
      if (byte === WINDOW_REQUEST) return;
      this.checkCan(byte);
    }
  }

  /** The next well-formed answer, or 'timeout' at `deadline` (performance.now() time); damaged answers and stray bytes are skipped. */
  private async readAnswer(deadline: number): Promise<Answer | 'timeout'> {
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return 'timeout';
      let byte: number;
      try {
        byte = await this.readByte(left, 'an acknowledgement');
        if (byte !== ACK && byte !== NAK) {
          this.checkCan(byte);
          continue;
        }
        const [sequence, complement] = await this.link.reader.readBytes(2, { timeoutMs: Math.max(left, 50), signal: this.options.signal, awaiting: 'an acknowledgement' });
        if (complement !== 0xff - sequence!) continue;
        return { type: byte === ACK ? 'ack' : 'nak', sequence: sequence! };
      } catch (error) {
        if (error instanceof TimeoutError) return 'timeout';
        throw error;
      }
    }
  }

  private checkCan(byte: number): void {
    if (byte === CAN && this.lastWasCan) throw new TransferAbortedError('the receiver cancelled the transfer', { where: { port: this.link.port.path } });
    this.lastWasCan = byte === CAN;
  }

  private readByte(timeoutMs: number, awaiting: string): Promise<number> {
    return this.link.reader.readByte({ timeoutMs, signal: this.options.signal, awaiting });
  }

  private throwIfCancelled(): void {
    if (this.options.signal?.aborted) throw new CancelledError('the transfer was cancelled', { where: { port: this.link.port.path } });
  }

  private gaveUp(what: string, unanswered: number): TransferError {
    return notAcknowledged(this.link.port.path, what, this.maxAttempts, unanswered, this.timeoutMs);
  }
}

export interface WindowReceiveOptions {
  maxBytes: number;
  onBytes?: (received: number) => void;
  blockTimeoutMs?: number;
  maxErrors?: number;
}

/** The receiving side of ymodem-window; the device simulator uses it. */
export async function receiveFileWindowed(link: TransferLink, options: WindowReceiveOptions): Promise<ReceivedFile> {
  const answer = (type: number, sequence: number) => link.port.write(Uint8Array.of(type, sequence & 0xff, 0xff - (sequence & 0xff)));
  const timeoutMs = options.blockTimeoutMs ?? 3000;
  const maxErrors = options.maxErrors ?? 10;
  let errors = 0;
  const failure = () => {
    if (++errors > maxErrors) throw new TransferError(`too many bad or missing blocks (${maxErrors})`);
  };
  try {
    // Ask until block 0 arrives.
    let header: { fileName: string; size: number } | undefined;
    while (!header) {
      await link.port.write(Uint8Array.of(WINDOW_REQUEST));
      const block = await readBlock(link.reader, timeoutMs);
      if (block.kind === 'block' && block.sequence === 0) header = parseHeader(block.payload);
      else failure();
    }
    if (header.size > options.maxBytes) throw new TransferError(`the file is ${header.size} bytes, more than the ${options.maxBytes} that fit`);
    await answer(ACK, 0);

    const chunks: Buffer[] = [];
    let received = 0;
    let expected = 1;
    let nakSent = false;
    let nakAt = 0;
    for (;;) {
      const block = await readBlock(link.reader, timeoutMs);
      if (block.kind === 'eot' && received >= header.size) {
        await answer(ACK, expected);
        break;
      }
      if (block.kind === 'block' && block.sequence === 0 && expected === 1) {
        await answer(ACK, 0); // our ACK of the header was lost
        continue;
      }
      if (block.kind === 'block' && block.sequence === (expected & 0xff)) {
        chunks.push(block.payload);
        received += block.payload.length;
        if (received > header.size + LARGE_BLOCK) throw new TransferError(`more than the announced ${header.size} bytes arrived`);
        options.onBytes?.(Math.min(received, header.size));
        await answer(ACK, expected);
        expected++;
        nakSent = false;
        continue;
      }
      if (block.kind === 'block' && ((expected - block.sequence) & 0xff) < 128) {
        // A block we already have (the sender went back): confirm how far we are.
        await answer(ACK, expected - 1);
        continue;
      }
      // Damaged, missing, out of order, or an early EOT: ask once for the block we need, drop the rest.
      // After a NAK, blocks still in flight from before the gap are dropped quietly; only a long silence asks again (the NAK may have been lost).
      if (!nakSent || (block.kind === 'bad' && performance.now() - nakAt >= timeoutMs)) {
        failure();
        await answer(NAK, expected);
        nakSent = true;
        nakAt = performance.now();
      }
    }
    return { fileName: header.fileName, data: Buffer.concat(chunks).subarray(0, header.size) };
  } catch (error) {
    if (link.port.isOpen && !(error instanceof TransferAbortedError)) await link.port.write(ABORT_SEQUENCE).catch(() => undefined);
    throw error;
  }
}
