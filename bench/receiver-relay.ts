/**
 * Sits on the device end of a pty pair and runs an lrzsz receiver behind it,
 * relaying bytes both ways through pipes (lrzsz on a tty would flush away its
 * last ACK on exit). It starts the receiver only when told "go" on stdin, and
 * prints how long the receiver ran (`ms`) and how long from its first byte on
 * the line (its 'C' or 'W': a program's start-up left out) to its exit
 * (`fromFirstByteMs`), so senders and receivers are timed over the same span,
 * and the median time from one of the receiver's answers to the sender's next
 * bytes (`senderReactionUs`): the sender's own cost per block, plus the line;
 * with their 99th percentile, their count and their sum over the transfer,
 * which is what the sender's reactions (with the line's two socat hops and
 * this relay's own wake-ups) added to its time (a median hides a slow tail).
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
  // The sender's reaction: from the receiver's answer (an ACK) to the sender's next bytes on the line.
  let answeredAt: number | undefined;
  const reactions: number[] = [];
  const receiver = spawn(program, args, { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
  fromLine.on('data', (chunk: Buffer) => {
    if (answeredAt !== undefined) reactions.push(performance.now() - answeredAt);
    answeredAt = undefined;
    receiver.stdin.write(chunk);
  });
  receiver.stdout.on('data', (chunk: Buffer) => {
    answeredAt = performance.now();
    firstByteAt ??= answeredAt;
    toLine.write(chunk);
  });
  receiver.stdin.on('error', () => undefined);
  receiver.once('exit', (code) => {
    const ended = performance.now();
    const sorted = [...reactions].sort((a, b) => a - b);
    const quantileUs = (q: number) => (sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000);
    const senderReactionTotalMs = sorted.reduce((sum, ms) => sum + ms, 0);
    const timing = { ms: ended - started, fromFirstByteMs: ended - (firstByteAt ?? started), senderReactionUs: quantileUs(0.5), senderReactionP99Us: quantileUs(0.99), senderReactionTotalMs, answers: sorted.length, code };
    process.stdout.write(`${JSON.stringify(timing)}\n`);
    process.exit(0);
  });
});
console.log('ready');
