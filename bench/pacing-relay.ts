/**
 * Holds a line between two ptys to a real serial wire's pace: each direction
 * carries one byte per 10 bit times (8N1) at the given baud, independently
 * (full duplex), and the first bytes after the traffic changes direction wait
 * a turnaround (a USB serial adapter's latency). Ptys alone move bytes as fast
 * as memory; through this relay a transfer can be compared with the wire's limit.
 *
 *   node bench/pacing-relay.ts <pty-a> <pty-b> [--baud 921600] [--turnaround-ms 1]
 *
 * Prints "ready" once both ends are open; stops on SIGTERM.
 */
import { openSync } from 'node:fs';
import tty from 'node:tty';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { baud: { type: 'string', default: '921600' }, 'turnaround-ms': { type: 'string', default: '1' } }, allowPositionals: true });
const [pathA, pathB] = positionals;
if (!pathA || !pathB) {
  console.error('usage: pacing-relay <pty-a> <pty-b> [--baud N] [--turnaround-ms MS]');
  process.exit(2);
}
const msPerByte = (10 * 1000) / Number(values.baud);
const turnaroundMs = Number(values['turnaround-ms']);
/** Pieces small enough that a receiver sees bytes arrive about as a UART would hand them over. */
const PIECE = 64;

type Direction = 'ab' | 'ba';
interface Wire {
  freeAt: number;
  queue: Array<{ at: number; bytes: Buffer }>;
  timer: NodeJS.Timeout | undefined;
  out: tty.WriteStream;
}

function open(path: string) {
  const fd = openSync(path, 'r+');
  return { input: new tty.ReadStream(fd), output: new tty.WriteStream(fd) };
}
const a = open(pathA);
const b = open(pathB);
const wires: Record<Direction, Wire> = {
  ab: { freeAt: 0, queue: [], timer: undefined, out: b.output },
  ba: { freeAt: 0, queue: [], timer: undefined, out: a.output },
};
let lastDirection: Direction | undefined;

function carry(direction: Direction, chunk: Buffer): void {
  const now = performance.now();
  const wire = wires[direction];
  let earliest = now;
  if (lastDirection !== direction) {
    earliest += turnaroundMs;
    lastDirection = direction;
  }
  for (let offset = 0; offset < chunk.length; offset += PIECE) {
    const bytes = chunk.subarray(offset, offset + PIECE);
    const start = Math.max(earliest, wire.freeAt);
    wire.freeAt = start + bytes.length * msPerByte;
    // A piece is handed over when its last byte has crossed the wire.
    wire.queue.push({ at: wire.freeAt, bytes });
  }
  pump(wire);
}

function pump(wire: Wire): void {
  if (wire.timer) return;
  const now = performance.now();
  const due: Buffer[] = [];
  while (wire.queue.length > 0 && wire.queue[0]!.at <= now) due.push(wire.queue.shift()!.bytes);
  if (due.length > 0) wire.out.write(Buffer.concat(due));
  if (wire.queue.length > 0) {
    wire.timer = setTimeout(() => {
      wire.timer = undefined;
      pump(wire);
    }, Math.max(0, wire.queue[0]!.at - now));
  }
}

a.input.on('data', (chunk: Buffer) => carry('ab', chunk));
b.input.on('data', (chunk: Buffer) => carry('ba', chunk));
console.log('ready');
process.once('SIGTERM', () => process.exit(0));
