/**
 * Sits on the device end of a pty pair and runs an lrzsz receiver behind it,
 * relaying bytes both ways through pipes (lrzsz on a tty would flush away its
 * last ACK on exit). It starts the receiver only when told "go" on stdin, and
 * prints how long the receiver ran, so two senders are timed over the same span.
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
  const receiver = spawn(program, args, { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
  fromLine.on('data', (chunk: Buffer) => receiver.stdin.write(chunk));
  receiver.stdout.on('data', (chunk: Buffer) => toLine.write(chunk));
  receiver.stdin.on('error', () => undefined);
  receiver.once('exit', (code) => {
    process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, code })}\n`);
    process.exit(0);
  });
});
console.log('ready');
