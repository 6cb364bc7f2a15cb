import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { BytePort } from '../../main/core/ports/byte-port.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { sendFile } from '../../main/core/transfer/transfer.ts';
import { ABORT_SEQUENCE, ACK } from '../../main/core/transfer/xmodem-framing.ts';
import { WINDOW_REQUEST } from '../../main/core/transfer/window-transfer.ts';
import { makePtyPair, type PtyPair } from '../helpers/pty-pair.ts';

/**
 * A ymodem-window receiver stuck in a loop: it keeps confirming one block
 * over and over (a firmware bug, or a receiver that restarted and lost its
 * place), so the line is never silent but the transfer never moves on. The
 * sender must count that as no answer and give up within its attempts.
 */
describe('ymodem-window sender against a receiver that repeats a stale acknowledgement', () => {
  let pair: PtyPair | undefined;
  const ports: BytePort[] = [];
  const timers: NodeJS.Timeout[] = [];
  afterEach(async () => {
    for (const timer of timers.splice(0)) clearInterval(timer);
    for (const port of ports.splice(0)) await port.close().catch(() => undefined);
    await pair?.dispose();
    pair = undefined;
  });

  /**
   * The station's end and a receiver that asks with W, then every 20 ms sends the ACK `ackFor` names for the
   * bytes arrived so far (none while it names none; [sequence, complement] for a damaged one); a number `ack`
   * repeats that ACK once `from` bytes arrived.
   */
  async function stuckReceiver(ack: number | ((received: number) => number | [number, number] | undefined), from = 1) {
    const ackFor = typeof ack === 'number' ? (received: number) => (received >= from ? ack : undefined) : ack;
    pair = await makePtyPair();
    const station = await openPort(pair.a);
    const unit = await openPort(pair.b);
    ports.push(station, unit);
    const fromStation: number[] = [];
    unit.onData((chunk) => fromStation.push(...chunk));
    void unit.write(Uint8Array.of(WINDOW_REQUEST));
    timers.push(
      setInterval(() => {
        const answer = ackFor(fromStation.length);
        const [sequence, complement] = typeof answer === 'number' ? [answer, 0xff - answer] : (answer ?? []);
        if (sequence !== undefined && complement !== undefined && unit.isOpen) void unit.write(Uint8Array.of(ACK, sequence, complement)).catch(() => undefined);
      }, 20),
    );
    return { link: { port: station, reader: new PortReader(station) }, fromStation };
  }

  const bounded = { protocol: 'ymodem-window' as const, fileName: 'fw.bin', data: randomBytes(40_000), blockTimeoutMs: 300, maxAttempts: 3 };

  it('gives up on the data blocks when the receiver only repeats the header ACK', async () => {
    const { link, fromStation } = await stuckReceiver(0, 1);
    const started = performance.now();
    await expect(sendFile(link, bounded)).rejects.toThrow(/block 1 was not acknowledged after 3 tries/);
    // 3 attempts of 300 ms, with margin for a busy machine; before the fix it waited forever.
    expect(performance.now() - started).toBeLessThan(8000);
    // The receiver is told to stop too.
    await expect.poll(() => Buffer.from(fromStation.slice(-ABORT_SEQUENCE.length)).equals(ABORT_SEQUENCE)).toBe(true);
  }, 20_000);

  it('gives up on the next block when the receiver, past block 1, only repeats the ACK of block 1', async () => {
    // Header (a 128-byte block, 133 bytes framed) answered ACK 0; then once block 1 (1029 bytes framed) is in, ACK 1 over and over.
    const header = 133;
    const { link } = await stuckReceiver((received) => (received >= header + 1029 ? 1 : received >= header ? 0 : undefined));
    const started = performance.now();
    await expect(sendFile(link, bounded)).rejects.toThrow(/block 2 was not acknowledged after 3 tries/);
    // An ACK of a block already acknowledged moves nothing: it neither restarts the block timeout nor resets the tries.
    expect(performance.now() - started).toBeLessThan(8000);
  }, 20_000);

  it('drops an ACK whose complement does not match (damaged on the line): it acknowledges nothing', async () => {
    // Header answered ACK 0; once the window (16 blocks) is out, only "ACK 16" with a wrong complement.
    const header = 133;
    const { link } = await stuckReceiver((received) => (received >= header + 16 * 1029 ? [16, 0x00] : received >= header ? 0 : undefined));
    // Taken as the ACK of block 16, it would move the window past blocks the receiver never confirmed.
    await expect(sendFile(link, bounded)).rejects.toThrow(/block 1 was not acknowledged after 3 tries/);
  }, 20_000);

  it('gives up on the header when the receiver repeats the ACK of another block', async () => {
    const { link } = await stuckReceiver(7, 1);
    const started = performance.now();
    await expect(sendFile(link, bounded)).rejects.toThrow(/the file header was not acknowledged after 3 tries/);
    expect(performance.now() - started).toBeLessThan(8000);
  }, 20_000);
});
