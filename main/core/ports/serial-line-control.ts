import type { SetOptions, UpdateOptions } from '@serialport/bindings-interface';
import { checkBaudRate, LineControlError, LineControlUnsupportedError, OPEN_PORT_SIGNALS, type LineControl, type LineSignals } from './line-control.ts';

/** The part of a serialport stream that drives the line. */
export interface ControllableStream {
  set(options: SetOptions, callback: (error: Error | null) => void): void;
  update(options: UpdateOptions, callback: (error: Error | null) => void): void;
}

/** A control call that hangs means a dead USB device; it must not hold the unit forever. */
const CONTROL_TIMEOUT_MS = 2000;

/**
 * Line control of a local serial port through serialport's set() and update().
 * serialport's set() fills every line it is not told about with its own
 * defaults (DTR and RTS asserted), so this keeps the state of each line and
 * always sends all of them: setting DTR alone must not move RTS (on an ESP32
 * board that would reset the chip).
 */
export class SerialLineControl implements LineControl {
  private readonly stream: ControllableStream;
  private readonly path: string;
  private readonly onBaudRate: (baudRate: number) => void;
  private signals: LineSignals = { ...OPEN_PORT_SIGNALS };

  constructor(stream: ControllableStream, path: string, onBaudRate: (baudRate: number) => void) {
    this.stream = stream;
    this.path = path;
    this.onBaudRate = onBaudRate;
  }

  async setSignals(signals: Partial<LineSignals>): Promise<void> {
    const next = { ...this.signals, ...signals };
    await this.call('set the modem lines', (done) => this.stream.set({ dtr: next.dtr, rts: next.rts, brk: next.brk }, done));
    this.signals = next;
  }

  async setBaudRate(baudRate: number): Promise<void> {
    checkBaudRate(baudRate, this.path);
    await this.call(`change the baud rate to ${baudRate}`, (done) => this.stream.update({ baudRate }, done));
    this.onBaudRate(baudRate);
  }

  private call(what: string, start: (done: (error: Error | null) => void) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LineControlError(`could not ${what} within ${CONTROL_TIMEOUT_MS} ms`, { where: { port: this.path } })), CONTROL_TIMEOUT_MS);
      start((error) => {
        clearTimeout(timer);
        if (!error) return resolve();
        reject(describeControlError(this.path, what, error));
      });
    });
  }
}

/** ENOTTY/EINVAL from the modem-line ioctls: the device has no such lines (a pseudo-terminal, some adapters). */
function describeControlError(path: string, what: string, error: Error): Error {
  const where = { port: path };
  if (/ENOTTY|EINVAL|Inappropriate ioctl|Invalid argument/i.test(error.message)) {
    return new LineControlUnsupportedError(`this port cannot ${what}: it has no modem control lines (${error.message})`, {
      where,
      hint: 'A pseudo-terminal or a bare adapter cannot reset the unit; put it into its bootloader by hand (hold BOOT while plugging it in).',
      cause: error,
    });
  }
  return new LineControlError(`could not ${what} (${error.message})`, { where, cause: error });
}
