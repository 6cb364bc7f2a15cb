import { CancelledError, PortDisconnectedError, ProtocolError, TimeoutError } from '../errors.ts';
import type { BytePort, PortCloseReason } from './byte-port.ts';

export interface ReadOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Named in timeout errors: "no answer to SERIAL? within 2000 ms". */
  awaiting?: string;
}

export interface LineReadOptions extends ReadOptions {
  /** Longest line accepted, in bytes, without the line ending. */
  maxLength: number;
}

/** Incoming bytes nobody reads are capped, so a chattering device cannot grow memory without bound. */
const MAX_BUFFERED_BYTES = 1 << 20;
const NOTHING = Buffer.alloc(0);

type Take<T> = () => T | undefined;

/**
 * Buffered, bounded reads from a BytePort: lines for text protocols, bytes for
 * transfers. Every read has a timeout, honours an AbortSignal, and fails at
 * once when the port goes away. One read at a time (protocols here are
 * strictly request/response).
 */
export class PortReader {
  private readonly port: BytePort;
  private buffer: Buffer = NOTHING;
  /** After an over-long line, bytes are dropped up to the next line ending to resynchronise. */
  private skippingLongLine = false;
  private overflowed = 0;
  private closeReason: PortCloseReason | undefined;
  private waiter: { poll: () => void; fail: (error: Error) => void } | undefined;
  private readonly unsubscribe: () => void;
  /** Why received bytes are no longer quoted in errors (see withholdReceivedBytes), or undefined while they may be. */
  private withheldBecause: string | undefined;

  constructor(port: BytePort) {
    this.port = port;
    this.unsubscribe = port.onData((chunk) => this.receive(chunk));
    void port.closed.then((reason) => {
      this.closeReason = reason;
      this.waiter?.fail(this.portGoneError());
    });
  }

  get path(): string {
    return this.port.path;
  }

  /** Bytes received and not yet read. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Drops everything received so far (stale banners, echoes) before a new command. */
  discardInput(): void {
    this.buffer = NOTHING;
    this.overflowed = 0;
  }

  /**
   * From now on, errors say how many bytes the device sent but never show
   * them, in hex or as text. For a device that was given a secret: its echo of
   * the command, or a line that quotes the secret, may be cut anywhere, and no
   * redaction can recognise every prefix or fragment of a key. Lasts for the
   * reader's life (one unit's session), because the device keeps the secret.
   */
  withholdReceivedBytes(because: string): void {
    this.withheldBecause = because;
  }

  /** The next line, without its \n or \r\n. Non-text bytes and over-long lines are ProtocolErrors. */
  readLine(options: LineReadOptions): Promise<string> {
    return this.read(options, () => this.takeLine(options.maxLength));
  }

  /**
   * The next byte. `onByte` sees it as it arrives, in the port's own wake-up, before the promise settles:
   * a stop-and-wait sender answers an ACK from there with its next block, rather than after the awaits above it.
   */
  readByte(options: ReadOptions & { onByte?: (byte: number) => void }): Promise<number> {
    return this.read(options, () => {
      if (this.buffer.length === 0) return undefined;
      const byte = this.buffer[0]!;
      // An answer is usually one byte alone: nothing left, no view of nothing to allocate.
      this.buffer = this.buffer.length === 1 ? NOTHING : this.buffer.subarray(1);
      return byte;
    }, options.onByte);
  }

  /** Exactly `count` bytes (a transfer block). */
  readBytes(count: number, options: ReadOptions): Promise<Buffer> {
    return this.read(options, () => {
      if (this.buffer.length < count) return undefined;
      const bytes = Buffer.from(this.buffer.subarray(0, count));
      this.buffer = this.buffer.subarray(count);
      return bytes;
    });
  }

  dispose(): void {
    this.unsubscribe();
    this.waiter?.fail(new CancelledError('the reader was closed', { where: { port: this.port.path } }));
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_BUFFERED_BYTES) {
      this.overflowed += this.buffer.length - MAX_BUFFERED_BYTES;
      this.buffer = this.buffer.subarray(this.buffer.length - MAX_BUFFERED_BYTES);
    }
    this.waiter?.poll();
  }

  private read<T>(options: ReadOptions, take: Take<T>, onValue?: (value: T) => void): Promise<T> {
    if (this.waiter) return Promise.reject(new Error(`PortReader on ${this.port.path}: a read is already in progress`));
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (this.waiter === waiter) this.waiter = undefined;
      };
      const fail = (error: Error) => {
        cleanup();
        reject(error);
      };
      const poll = () => {
        try {
          const value = take();
          if (value === undefined) return;
          // The read is over before anyone hears of it: bytes arriving from here on are for the next read.
          if (this.waiter === waiter) this.waiter = undefined;
          // What answers the value (a transfer's next block) goes out before the timer's bookkeeping.
          onValue?.(value);
          cleanup();
          resolve(value);
        } catch (error) {
          fail(error as Error);
        }
      };
      const onAbort = () => fail(new CancelledError('cancelled', { where: { port: this.port.path } }));
      const waiter = { poll, fail };
      const timer = setTimeout(() => fail(this.timeoutError(options)), options.timeoutMs);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.port.isOpen) return fail(this.portGoneError());
      this.waiter = waiter;
      poll();
    });
  }

  private takeLine(maxLength: number): string | undefined {
    if (this.overflowed > 0) {
      const dropped = this.overflowed;
      this.overflowed = 0;
      throw new ProtocolError(`the device sent ${dropped} bytes more than the station can hold unread`, {
        where: { port: this.port.path },
      });
    }
    if (this.skippingLongLine) {
      const end = this.buffer.indexOf(0x0a);
      if (end < 0) {
        this.buffer = NOTHING;
        return undefined;
      }
      this.buffer = this.buffer.subarray(end + 1);
      this.skippingLongLine = false;
    }
    const end = this.buffer.indexOf(0x0a);
    if (end < 0) {
      if (this.buffer.length > maxLength + 1) {
        const length = this.buffer.length;
        this.buffer = NOTHING;
        this.skippingLongLine = true;
        throw this.longLineError(length, maxLength);
      }
      return undefined;
    }
    let raw = this.buffer.subarray(0, end);
    this.buffer = this.buffer.subarray(end + 1);
    if (raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
    if (raw.length > maxLength) throw this.longLineError(raw.length, maxLength);
    const bad = raw.findIndex((byte) => (byte < 0x20 || byte > 0x7e) && byte !== 0x09);
    if (bad >= 0) {
      throw new ProtocolError(`the device sent ${raw.length} bytes that are not text (${this.preview(raw)})`, {
        where: { port: this.port.path },
      });
    }
    return raw.toString('latin1');
  }

  private longLineError(length: number, maxLength: number): ProtocolError {
    return new ProtocolError(`the device sent a line of ${length}+ bytes, longer than the ${maxLength}-byte limit`, {
      where: { port: this.port.path },
    });
  }

  private timeoutError(options: ReadOptions): TimeoutError {
    const what = options.awaiting ? `no answer to ${options.awaiting}` : 'no answer';
    const got = this.buffer.length > 0 ? `; it sent ${this.buffer.length} bytes that are not a full line (${this.preview(this.buffer)})` : '';
    return new TimeoutError(`${what} within ${Math.round(options.timeoutMs)} ms${got}`, {
      where: { port: this.port.path },
      hint: 'Check that the unit is powered, connected, and running firmware that speaks this profile.',
    });
  }

  /** The first bytes in hex for a diagnosis, unless they may carry a secret. */
  private preview(bytes: Uint8Array): string {
    return this.withheldBecause === undefined ? hexPreview(bytes) : `not shown: ${this.withheldBecause}`;
  }

  /** The port's own disconnect error, when it has one, says why it went away. */
  private portGoneError(): Error {
    if (this.closeReason?.kind === 'disconnected') return this.closeReason.error;
    return new PortDisconnectedError('the port is closed', { where: { port: this.port.path } });
  }
}

export function hexPreview(bytes: Uint8Array, max = 16): string {
  const shown = Array.from(bytes.subarray(0, max), (byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > max ? `${shown} …` : shown;
}
