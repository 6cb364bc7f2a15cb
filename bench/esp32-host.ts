/**
 * A simulated ESP32 (ROM bootloader; datasheet flash timing, or none) on the chip's end
 * of a line, in a process of its own, that times a flashing session from the
 * chip's side: from the first byte it receives to the last answer it sends.
 * Whoever drives it (the station or esptool) is timed between the same two
 * points, so neither's start-up is counted.
 *
 *   node bench/esp32-host.ts <tty> [--chip esp32] [--mac 24:0a:c4:00:be:ec] [--flash-timing datasheet|instant]
 *
 * Prints "ready"; on stdin "report <offset> <length>" prints one JSON line:
 * the session's span and the SHA-256 of that flash region.
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Esp32Chip } from '../main/core/devices/esp32/chips.ts';
import type { BytePort, PortCloseReason } from '../main/core/ports/byte-port.ts';
import { openPort } from '../main/core/ports/open-port.ts';
import { Esp32Simulator } from '../main/core/simulator/esp32/esp32-simulator.ts';
import { INSTANT_FLASH, REALISTIC_FLASH } from '../main/core/simulator/esp32/rom-loader.ts';

export interface ChipReport {
  /** The chip's first received byte to its last answer sent. */
  spanMs: number;
  received: number;
  sent: number;
  /** Median time from one of the chip's answers to the host's next bytes: what the host adds per command, plus the line. */
  hostReactionMs: number;
  sha256: string;
}

/** A BytePort that notes when the first byte came in and the last one went out. */
class TimedPort implements BytePort {
  private readonly inner: BytePort;
  firstReceivedAt: number | undefined;
  lastSentAt: number | undefined;
  received = 0;
  sent = 0;
  readonly reactions: number[] = [];
  private answered = false;

  constructor(inner: BytePort) {
    this.inner = inner;
    inner.onData((chunk) => {
      const now = performance.now();
      this.firstReceivedAt ??= now;
      this.received += chunk.length;
      if (this.answered) this.reactions.push(now - this.lastSentAt!);
      this.answered = false;
    });
  }

  get path(): string {
    return this.inner.path;
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  get closed(): Promise<PortCloseReason> {
    return this.inner.closed;
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    return this.inner.onData(listener);
  }

  async write(data: Uint8Array, options?: { timeoutMs?: number }): Promise<void> {
    await this.inner.write(data, options);
    this.lastSentAt = performance.now();
    this.answered = true;
    this.sent += data.byteLength;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const { values, positionals } = parseArgs({ options: { chip: { type: 'string', default: 'esp32' }, mac: { type: 'string', default: '24:0a:c4:00:be:ec' }, 'flash-timing': { type: 'string', default: 'datasheet' } }, allowPositionals: true });
if (!positionals[0]) {
  console.error('usage: esp32-host <tty> [--chip esp32] [--mac XX:XX:XX:XX:XX:XX]');
  process.exit(2);
}
const port = new TimedPort(await openPort(positionals[0]));
const simulator = new Esp32Simulator(port, { chip: values.chip as Esp32Chip, mac: values.mac, flashTiming: values['flash-timing'] === 'instant' ? INSTANT_FLASH : REALISTIC_FLASH });
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, offset, length] = line.trim().split(' ');
  if (command !== 'report') return;
  const region = simulator.flash.read(Number(offset), Number(length));
  const report: ChipReport = {
    spanMs: (port.lastSentAt ?? 0) - (port.firstReceivedAt ?? 0),
    received: port.received,
    sent: port.sent,
    hostReactionMs: [...port.reactions].sort((a, b) => a - b)[port.reactions.length >> 1] ?? Number.NaN,
    sha256: createHash('sha256').update(region).digest('hex'),
  };
  console.log(JSON.stringify(report));
});
process.once('SIGTERM', async () => {
  await simulator.stop();
  await port.close();
  process.exit(0);
});
console.log('ready');
