import { TimeoutError as EspTimeoutError, Transport } from 'esptool-js';
import { CancelledError, PortDisconnectedError, TimeoutError } from '../../errors.ts';
import type { BytePort, PortCloseReason } from '../../ports/byte-port.ts';
import { LineControlUnsupportedError } from '../../ports/line-control.ts';
import { SlipDecoder, slipEncode } from './slip.ts';

/** Packets waiting unread; the ROM answers one command at a time, so more is noise. */
const MAX_QUEUED_PACKETS = 256;
/** Text kept from the line (boot log, application output). */
const MAX_TEXT_BYTES = 64 * 1024;
/** A terminal control sequence (ECMA-48 CSI: ESC [ parameters, intermediates, final byte), such as a colour. */
const TERMINAL_ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]/g;

/**
 * esptool-js's Transport over a BytePort instead of Web Serial: SLIP packets
 * and modem lines go through the station's port (serial, TCP or in-memory),
 * with its unplug detection; reads wait for data instead of polling, and
 * fail at once when the port goes away or the step is cancelled. Bytes
 * between packets (the ROM banner, the application's log) are kept as text
 * lines for the driver.
 */
export class BytePortTransport extends Transport {
  private readonly port: BytePort;
  private readonly decoder: SlipDecoder;
  private packets: Buffer[] = [];
  private text = Buffer.alloc(0);
  private closeReason: PortCloseReason | undefined;
  private wake: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  /** The step's cancellation; reads and writes stop when it aborts. */
  signal: AbortSignal | undefined;
  /** The application is running: the line carries its log only, no SLIP (a 0xC0 in it must not hide the lines after it). */
  private textOnly = false;

  private readonly log: (line: string) => void;

  constructor(port: BytePort, log: (line: string) => void = () => undefined) {
    // The Web Serial device is never touched: every method that would use it is replaced here.
    super({} as never, false, true);
    this.port = port;
    this.log = log;
    this.decoder = new SlipDecoder((event) => {
      if (event.type === 'packet') {
        this.packets.push(event.packet);
        if (this.packets.length > MAX_QUEUED_PACKETS) this.packets.shift();
      } else if (event.type === 'text') {
        this.keepText(event.bytes);
      }
    });
    this.unsubscribe = port.onData((chunk) => {
      if (this.textOnly) this.keepText(chunk);
      else this.decoder.push(chunk);
      this.wake?.();
    });
    void port.closed.then((reason) => {
      this.closeReason = reason;
      this.wake?.();
    });
  }

  /** esptool-js traces some steps whether or not tracing is on; they go to the driver's log, not the console. */
  override trace(message: string): void {
    this.log(message);
  }

  override getInfo(): string {
    return this.port.path;
  }

  override getVid(): number | undefined {
    return undefined;
  }

  override getPid(): number | undefined {
    return undefined;
  }

  /** The port is already open at the ROM's rate; esptool-js "connects" before every sync. */
  override async connect(baud = 115200): Promise<void> {
    this.baudrate = baud;
  }

  /** Bytes arrive through the port's listener; there is no read loop to run. */
  override async readLoop(): Promise<void> {}

  /** esptool-js disconnects to reopen a Web Serial port; the BytePort stays open until the driver closes it. */
  override async disconnect(): Promise<void> {}

  override async waitForUnlock(): Promise<void> {}

  override async flushOutput(): Promise<void> {}

  override async write(data: Uint8Array): Promise<void> {
    this.throwIfStopped();
    await this.port.write(slipEncode(data));
  }

  /** The next SLIP packet, bytes outside packets set aside; an esptool-js TimeoutError when none comes in time. */
  override async read(timeout: number): Promise<Uint8Array> {
    const deadline = performance.now() + timeout;
    for (;;) {
      const packet = this.packets.shift();
      if (packet) return new Uint8Array(packet);
      this.throwIfStopped();
      const left = deadline - performance.now();
      if (left <= 0) throw new EspTimeoutError(`no answer from the ROM bootloader within ${timeout} ms`);
      await this.waitForData(left);
    }
  }

  override flushInput(): void {
    this.packets = [];
    this.text = Buffer.alloc(0);
  }

  /** Waits until the line has been quiet for quietMs (at most maxMs), then drops what came. */
  override async drainInput(quietMs = 100, maxMs = 400): Promise<void> {
    const deadline = performance.now() + maxMs;
    let seen = -1;
    while (performance.now() < deadline && this.received() !== seen) {
      seen = this.received();
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
    this.flushInput();
  }

  override inWaiting(): number {
    return this.received();
  }

  /** What arrived outside packets (esptool-js looks for the ROM's boot message in it). */
  override peek(): Uint8Array {
    return new Uint8Array(this.text);
  }

  override async setRTS(state: boolean): Promise<void> {
    await this.control().setSignals({ rts: state });
  }

  override async setDTR(state: boolean): Promise<void> {
    await this.control().setSignals({ dtr: state });
  }

  override async setSignals(dtr?: boolean, rts?: boolean, breakSignal?: boolean): Promise<void> {
    await this.control().setSignals({ dtr, rts, brk: breakSignal });
  }

  /** Changes the host's rate in place; never reopens (false: nothing was reopened). */
  override async changeBaudrate(baud: number): Promise<boolean> {
    await this.control().setBaudRate(baud);
    this.baudrate = baud;
    return false;
  }

  /**
   * The next line of text from the unit (without its line ending), for application output: as a terminal shows it,
   * without the escape sequences that colour it (ESP-IDF's CONFIG_LOG_COLORS wraps every log line in them).
   */
  async readTextLine(options: { timeoutMs: number; maxLength: number; awaiting: string }): Promise<string> {
    const deadline = performance.now() + options.timeoutMs;
    for (;;) {
      const end = this.text.indexOf(0x0a);
      if (end >= 0) {
        const line = this.text.subarray(0, end).toString('latin1').replace(TERMINAL_ESCAPE, '').replace(/\r$/, '');
        this.text = this.text.subarray(end + 1);
        return line.length > options.maxLength ? line.slice(0, options.maxLength) : line;
      }
      if (this.text.length > options.maxLength) {
        // A line longer than anything worth matching: keep its tail only.
        this.text = this.text.subarray(this.text.length - options.maxLength);
      }
      this.throwIfStopped();
      const left = deadline - performance.now();
      if (left <= 0) throw new TimeoutError(`no ${options.awaiting} within ${options.timeoutMs} ms`, { where: { port: this.port.path } });
      await this.waitForData(left);
    }
  }

  /** Reads what arrives from now on as the application's text (true) or as the ROM bootloader's SLIP packets with text between (false). */
  readTextOnly(textOnly: boolean): void {
    this.textOnly = textOnly;
    this.decoder.reset();
  }

  /** Text received and not yet read, as the unit sent it: looked at, never quoted as is (printableExcerpt quotes device text). */
  pendingText(): string {
    return this.text.toString('latin1');
  }

  dispose(): void {
    this.unsubscribe();
    this.wake?.();
  }

  private keepText(bytes: Uint8Array): void {
    this.text = Buffer.concat([this.text, bytes]);
    if (this.text.length > MAX_TEXT_BYTES) this.text = this.text.subarray(this.text.length - MAX_TEXT_BYTES);
  }

  private received(): number {
    return this.text.length + this.packets.reduce((sum, packet) => sum + packet.length, 0);
  }

  private control() {
    const control = this.port.control;
    if (!control) throw new LineControlUnsupportedError('this port has no line control', { where: { port: this.port.path } });
    return control;
  }

  private throwIfStopped(): void {
    if (this.signal?.aborted) throw new CancelledError('cancelled', { where: { port: this.port.path } });
    if (this.closeReason?.kind === 'disconnected') throw this.closeReason.error;
    if (this.closeReason) throw new PortDisconnectedError('the port is closed', { where: { port: this.port.path } });
  }

  private waitForData(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.signal?.removeEventListener('abort', done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }
}
