import { TimeoutError, TransferAbortedError } from '../errors.ts';
import type { PortReader } from '../ports/port-reader.ts';
import { crc16Xmodem } from './crc16.ts';
import { CAN, EOT, LARGE_BLOCK, SMALL_BLOCK, SOH, STX } from './xmodem-framing.ts';

export type Block = { kind: 'block'; sequence: number; payload: Buffer } | { kind: 'eot' } | { kind: 'bad' };

/**
 * Reads the next XMODEM/YMODEM block as a receiver sees it: a checked block,
 * EOT, or "bad" (damaged, or nothing in time). Bytes before a block header
 * are skipped; two CANs in a row mean the sender gave up.
 */
export async function readBlock(reader: PortReader, timeoutMs: number): Promise<Block> {
  let lastWasCan = false;
  // The wait for a block's first byte has one deadline: bytes that start no block (line noise, a sender
  // streaming garbage) are skipped but do not buy it more time. The rest of a block has its own timeout.
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = Math.ceil(deadline - performance.now());
    if (left <= 0) return { kind: 'bad' };
    let byte: number;
    try {
      byte = await reader.readByte({ timeoutMs: left, awaiting: 'the next block' });
    } catch (error) {
      if (error instanceof TimeoutError) return { kind: 'bad' };
      throw error;
    }
    if (byte === EOT) return { kind: 'eot' };
    if (byte === CAN && lastWasCan) throw new TransferAbortedError('the sender cancelled the transfer');
    lastWasCan = byte === CAN;
    if (byte !== SOH && byte !== STX) continue;
    const size = byte === STX ? LARGE_BLOCK : SMALL_BLOCK;
    let rest: Buffer;
    try {
      rest = await reader.readBytes(size + 4, { timeoutMs, awaiting: 'the rest of a block' });
    } catch (error) {
      if (error instanceof TimeoutError) return { kind: 'bad' };
      throw error;
    }
    const sequence = rest[0]!;
    if (rest[1] !== 0xff - sequence) return { kind: 'bad' };
    const payload = rest.subarray(2, 2 + size);
    const crc = (rest[2 + size]! << 8) | rest[3 + size]!;
    if (crc16Xmodem(payload) !== crc) return { kind: 'bad' };
    return { kind: 'block', sequence, payload: Buffer.from(payload) };
  }
}
