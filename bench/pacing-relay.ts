/**
 * Holds many serial lines to a real wire's pace, in one process: each
 * direction of a line carries one byte per 10 bit times (8N1) at the given
 * baud, independently (full duplex), and the first bytes after a line's
 * traffic changes direction wait a turnaround (a USB serial adapter's
 * latency). Ptys alone move bytes as fast as memory; through this relay a
 * transfer can be compared with the wire's limit, and many ports can be
 * measured without a relay process each.
 *
 *   node bench/pacing-relay.ts [--baud 921600] [--turnaround-ms 1] END END [END END …]
 *
 * The ends come in pairs, one pair a line. An end is either `pty:<path>`, a
 * new pty linked at <path> (for the station, a simulated unit or a peer tool
 * to open), or the path of an existing tty (one end of a socat pair). Each
 * end is held by a socat process that hands its bytes to this one over
 * pipes. Prints "ready" once every end is open; stops on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';

/** Pieces small enough that a receiver sees bytes arrive about as a UART would hand them over. */
const PIECE = 64;
/**
 * Bytes a direction holds before it stops taking more from its sender, about
 * a USB serial driver's transmit buffer: a sender that writes faster than the
 * wire then waits on its writes, as on a real line.
 */
const HOLD_BYTES = 4096;

export interface WireTiming {
  baud: number;
  turnaroundMs: number;
}

/** Bytes on their way across one direction of a line: `sent` of them already handed over. */
interface InTransit {
  bytes: Buffer;
  /** When its first bit starts on the wire. */
  start: number;
  sent: number;
}

interface Direction {
  line: Line;
  name: 'ab' | 'ba';
  input: Readable;
  output: Writable;
  queue: InTransit[];
  held: number;
  /** When the wire is free for the next byte. */
  freeAt: number;
}

interface Line {
  lastDirection: 'ab' | 'ba' | undefined;
}

/**
 * The pacing itself: every direction of every line on one timer, so many
 * lines cost one process and one timer, not one each.
 */
export class Pacer {
  private readonly msPerByte: number;
  private readonly turnaroundMs: number;
  private readonly busy = new Set<Direction>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(timing: WireTiming) {
    this.msPerByte = (10 * 1000) / timing.baud;
    this.turnaroundMs = timing.turnaroundMs;
  }

  /** Paces a line between two byte streams: what `a` emits reaches `b`'s writable side at the wire's pace, and back. */
  addLine(a: { input: Readable; output: Writable }, b: { input: Readable; output: Writable }): void {
    const line: Line = { lastDirection: undefined };
    for (const [name, from, to] of [['ab', a, b], ['ba', b, a]] as const) {
      const direction: Direction = { line, name, input: from.input, output: to.output, queue: [], held: 0, freeAt: 0 };
      from.input.on('data', (chunk: Buffer) => this.carry(direction, chunk));
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private carry(direction: Direction, chunk: Buffer): void {
    const now = performance.now();
    let earliest = now;
    if (direction.line.lastDirection !== direction.name) {
      earliest += this.turnaroundMs;
      direction.line.lastDirection = direction.name;
    }
    const start = Math.max(earliest, direction.freeAt);
    direction.freeAt = start + chunk.length * this.msPerByte;
    direction.queue.push({ bytes: chunk, start, sent: 0 });
    direction.held += chunk.length;
    if (direction.held > HOLD_BYTES) direction.input.pause();
    this.busy.add(direction);
    this.schedule(now);
  }

  /** Hands over, on every busy direction, the bytes whose last bit has crossed the wire by now. */
  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    for (const direction of this.busy) {
      const due: Buffer[] = [];
      while (direction.queue.length > 0) {
        const head = direction.queue[0]!;
        const crossed = Math.min(head.bytes.length, Math.floor((now - head.start) / this.msPerByte));
        // Whole pieces, or the rest of what the sender wrote.
        const upTo = crossed === head.bytes.length ? crossed : head.sent + Math.floor((crossed - head.sent) / PIECE) * PIECE;
        if (upTo > head.sent) {
          due.push(head.bytes.subarray(head.sent, upTo));
          direction.held -= upTo - head.sent;
          head.sent = upTo;
        }
        if (head.sent < head.bytes.length) break;
        direction.queue.shift();
      }
      if (due.length > 0) direction.output.write(due.length === 1 ? due[0]! : Buffer.concat(due));
      if (direction.held <= HOLD_BYTES && direction.input.isPaused()) direction.input.resume();
      if (direction.queue.length === 0) this.busy.delete(direction);
    }
    this.schedule(now);
  }

  /** One timer, for the earliest moment a piece (or a sender's last bytes) has crossed on any line. */
  private schedule(now: number): void {
    let next = Infinity;
    for (const direction of this.busy) {
      const head = direction.queue[0]!;
      const upTo = Math.min(head.bytes.length, head.sent + PIECE);
      next = Math.min(next, head.start + upTo * this.msPerByte);
    }
    if (next >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - now));
  }
}

/** One end of a line: a socat process holding a new pty (`pty:<path>`) or an existing tty, its bytes on our pipes. */
function openEnd(spec: string): { socat: ChildProcess; input: Readable; output: Writable; ready: () => boolean } {
  const created = spec.startsWith('pty:') ? spec.slice(4) : undefined;
  const address = created ? `pty,raw,echo=0,link=${created}` : `open:${spec},raw,echo=0`;
  const socat = spawn('socat', ['-b', '65536', address, 'stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return { socat, input: socat.stdout!, output: socat.stdin!, ready: () => (created ? existsSync(created) : socat.pid !== undefined) };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { baud: { type: 'string', default: '921600' }, 'turnaround-ms': { type: 'string', default: '1' } }, allowPositionals: true });
  if (positionals.length === 0 || positionals.length % 2 !== 0) {
    console.error('usage: pacing-relay [--baud N] [--turnaround-ms MS] END END [END END …]   (END: pty:<path> or an existing tty)');
    process.exit(2);
  }
  const pacer = new Pacer({ baud: Number(values.baud), turnaroundMs: Number(values['turnaround-ms']) });
  const ends = positionals.map(openEnd);
  const stop = () => {
    pacer.stop();
    for (const end of ends) end.socat.kill('SIGTERM');
    process.exit(0);
  };
  for (const end of ends) {
    end.output.on('error', () => undefined);
    end.socat.once('exit', (code, signal) => {
      console.error(`pacing-relay: socat for an end exited (${code ?? signal})`);
      stop();
    });
  }
  for (let i = 0; i < ends.length; i += 2) pacer.addLine(ends[i]!, ends[i + 1]!);
  const deadline = Date.now() + 10_000;
  while (!ends.every((end) => end.ready())) {
    if (Date.now() > deadline) {
      console.error('pacing-relay: socat did not create the ptys within 10 s');
      stop();
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  process.once('SIGTERM', stop);
  console.log('ready');
}
