/**
 * Sits on the device end of a pty pair and runs an lrzsz receiver behind it,
 * relaying bytes both ways through pipes (lrzsz on a tty would flush away its
 * last ACK on exit). It starts the receiver only when told "go" on stdin, and
 * prints how long the receiver ran (`ms`) and how long from its first byte on
 * the line (its 'C' or 'W': a program's start-up left out) to its exit
 * (`fromFirstByteMs`), so senders and receivers are timed over the same span.
 *
 *   node bench/receiver-relay.ts <device-pty> <dir> <program> [args…]
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import tty from 'node:tty';

const [ptyPath, dir, program, ...args] = process.argv.slice(2);
if (!ptyPath || !dir || !program) {
  console.error('usage: receiver-relay <device-pty> <dir> <program> [args…]');
  process.exit(2);
}
const fd = openSync(ptyPath, 'r+');
const fromLine = new tty.ReadStream(fd);
const toLine = new tty.WriteStream(fd);

process.stdin.once('data', () => {
  const started = performance.now();
  let firstByteAt: number | undefined;
  const receiver = spawn(program, args, { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
  fromLine.on('data', (chunk: Buffer) => receiver.stdin.write(chunk));
  receiver.stdout.on('data', (chunk: Buffer) => {
    firstByteAt ??= performance.now();
    toLine.write(chunk);
  });
  receiver.stdin.on('error', () => undefined);
  receiver.once('exit', (code) => {
    const ended = performance.now();
    process.stdout.write(`${JSON.stringify({ ms: ended - started, fromFirstByteMs: ended - (firstByteAt ?? started), code })}\n`);
    process.exit(0);
  });
});
console.log('ready');
