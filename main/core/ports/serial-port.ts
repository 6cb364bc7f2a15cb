import { stat } from 'node:fs/promises';
import { platform } from 'node:os';
import type { BindingInterface } from '@serialport/bindings-interface';
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import { PortOpenError } from '../errors.ts';
import { BaseBytePort } from './base-port.ts';
import { stationBinding } from './station-binding.ts';
import type { BytePort, SerialSettings } from './byte-port.ts';
import { writeTimeoutFor } from './byte-port.ts';
import type { LineControl } from './line-control.ts';
import { SerialLineControl } from './serial-line-control.ts';
import { isUnixBindingPort, UnixTtyData } from './unix-tty-io.ts';

export type SerialBinding = BindingInterface;

export interface OpenSerialOptions {
  settings: SerialSettings;
  /** The serialport binding; the OS one by default, injectable for tests. */
  binding?: SerialBinding;
  openTimeoutMs?: number;
  /** How often the device node is checked for removal (unplug detection). */
  watchIntervalMs?: number;
  /** The device node to open when `path` is a link already followed and checked; the port is still named `path`. */
  devicePath?: string;
}

/** The operating system's serialport binding (bindings-cpp). */
export function systemBinding(): SerialBinding {
  return SerialPort.binding as unknown as SerialBinding;
}

/** Turns an OS error on open into something a technician can act on. */
export function describeOpenError(path: string, error: unknown): PortOpenError {
  const message = error instanceof Error ? error.message : String(error);
  const where = { port: path };
  if (/EACCES|permission denied/i.test(message)) {
    const hint =
      platform() === 'linux'
        ? 'Your user may not open serial ports: run "sudo usermod -aG dialout $USER", then log out and back in.'
        : 'Your user may not open this port; check its permissions.';
    return new PortOpenError('permission denied opening the port', { where, hint, retryable: false, cause: error });
  }
  if (/ENOENT|no such file|not found|cannot find/i.test(message)) {
    return new PortOpenError('the port does not exist', {
      where,
      hint: 'Check that the unit is plugged in and the port name is right.',
      cause: error,
    });
  }
  if (/EBUSY|lock|resource temporarily unavailable|access denied/i.test(message)) {
    return new PortOpenError('the port is in use by another program', {
      where,
      hint: 'Close other serial tools (vendor flashers, screen, minicom) that hold it.',
      cause: error,
    });
  }
  return new PortOpenError(`the port could not be opened (${message})`, { where, cause: error });
}

/**
 * A local serial port. serialport opens, configures and closes it and drives
 * its modem lines; on bindings-cpp's unix ports the bytes go straight to and
 * from the descriptor on the event loop (`UnixTtyData`), on any other binding
 * through serialport's stream.
 */
class SerialBytePort extends BaseBytePort {
  private readonly stream: SerialPortStream;
  private readonly unix: UnixTtyData | undefined;
  /** The current rate: write timeouts follow it when a driver raises it. */
  private baudRate: number;
  private watchTimer: NodeJS.Timeout | undefined;
  readonly control: LineControl;

  constructor(path: string, stream: SerialPortStream, baudRate: number) {
    super(path);
    this.stream = stream;
    this.baudRate = baudRate;
    this.control = new SerialLineControl(stream, path, (rate) => {
      this.baudRate = rate;
    });
    if (stream.port !== undefined && isUnixBindingPort(stream.port)) {
      this.unix = new UnixTtyData(stream.port);
      this.unix.start(
        (chunk) => this.lifecycle.emitData(chunk),
        (error) => this.hangUp(`the unit was unplugged or its port disappeared (${error.message})`),
      );
    } else {
      stream.on('data', (chunk: Buffer) => this.lifecycle.emitData(chunk));
    }
    // The OS reports a vanished device in its own words (EBADF, EIO, ENXIO): say what a technician sees.
    stream.on('close', (error?: Error & { disconnected?: boolean }) => {
      this.hangUp(error?.message ? `the unit was unplugged or its port disappeared (${error.message})` : 'the unit was unplugged or its port disappeared');
    });
    stream.on('end', () => this.hangUp('the unit was unplugged or hung up'));
    stream.on('error', (error: Error) => {
      if (!stream.isOpen) this.hangUp(`the unit was unplugged or its port failed (${error.message})`);
    });
  }

  /** Polls the device node: a USB unplug removes it, a replug gives it a new device number. */
  watchDeviceNode(intervalMs: number, deviceId: number | undefined): void {
    if (deviceId === undefined) return;
    let checking = false;
    this.watchTimer = setInterval(() => {
      if (checking) return;
      checking = true;
      stat(this.path).then(
        (info) => {
          checking = false;
          if (info.rdev !== deviceId) this.hangUp('the device was unplugged and another one took its place');
        },
        () => {
          checking = false;
          this.hangUp('the device was unplugged');
        },
      );
    }, intervalMs);
    this.watchTimer.unref();
  }

  write(data: Uint8Array, options: { timeoutMs?: number } = {}): Promise<void> {
    let bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.unix && this.isOpen) {
      // What the kernel takes at once is written now; only a remainder waits for room, with a timeout.
      try {
        const written = this.unix.writeNow(bytes);
        if (written === bytes.length) return Promise.resolve();
        bytes = bytes.subarray(written);
      } catch (error) {
        this.hangUp(`the unit was unplugged or its port failed (${(error as Error).message})`);
        return Promise.reject(this.lifecycle.endedError());
      }
    }
    const timeoutMs = options.timeoutMs ?? writeTimeoutFor(bytes.byteLength, this.baudRate);
    const stall = {
      hint: 'The device stopped taking data; unplug it, plug it in again, and retry.',
      hangUp: () => this.hangUp('the device stopped taking data'),
    };
    // The message names the whole write; the timeout is for what is left of it.
    return this.timedWrite(data.byteLength, timeoutMs, stall, (done) => {
      if (!this.unix) return void this.stream.write(bytes, done);
      this.unix.write(bytes).then(
        () => done(),
        (error: Error) => {
          this.hangUp(`the unit was unplugged or its port failed (${error.message})`);
          done(error);
        },
      );
    });
  }

  async close(): Promise<void> {
    if (!this.lifecycle.endClosed()) return;
    await this.release();
  }

  private hangUp(what: string): void {
    if (!this.lifecycle.endDisconnected(what)) return;
    void this.release();
  }

  /** Stops the watchdog and frees the file descriptor, without waiting on a dead device for long. */
  private async release(): Promise<void> {
    clearInterval(this.watchTimer);
    if (!this.stream.isOpen) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      timer.unref();
      this.stream.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Opens a local serial port (/dev/tty*, COMn) and watches it for unplug. */
export async function openSerialPort(path: string, options: OpenSerialOptions): Promise<BytePort> {
  const { settings } = options;
  const binding = stationBinding(options.binding ?? systemBinding());
  const stream = new SerialPortStream({
    binding,
    path: options.devicePath ?? path,
    baudRate: settings.baudRate,
    dataBits: settings.dataBits,
    parity: settings.parity,
    stopBits: settings.stopBits,
    autoOpen: false,
  });
  const openTimeoutMs = options.openTimeoutMs ?? 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      let gaveUp = false;
      const timer = setTimeout(() => {
        gaveUp = true;
        reject(new Error(`open did not finish within ${openTimeoutMs} ms`));
      }, openTimeoutMs);
      stream.open((error) => {
        clearTimeout(timer);
        // An open that succeeds after the timeout (a busy thread pool, a driver slow to answer) belongs to nobody:
        // closed, or its descriptor and lock would refuse every later open of the port as "in use".
        if (gaveUp) {
          if (!error) stream.close(() => undefined);
          return;
        }
        if (error) reject(error);
        else resolve();
      });
    });
  } catch (error) {
    if (stream.isOpen) stream.close();
    throw describeOpenError(path, error);
  }
  const port = new SerialBytePort(path, stream, settings.baudRate);
  // Only real device nodes can be watched; an injected binding's path may be a name. The number is the device opened:
  // the path as named leading anywhere else later counts as the unit gone.
  const deviceId = options.binding === undefined && path.startsWith('/') ? await deviceNumber(options.devicePath ?? path) : undefined;
  port.watchDeviceNode(options.watchIntervalMs ?? 250, deviceId);
  return port;
}

async function deviceNumber(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).rdev;
  } catch {
    return undefined;
  }
}
