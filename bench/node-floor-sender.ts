/**
 * The least any Node sender can do per YMODEM block, as a reference for the
 * station's: libuv's own tty handle on the pty (its poll stays armed between
 * reads, unlike bindings-cpp's one-shot poller), every block framed before the
 * transfer starts, and one 'data' listener that answers each ACK with the next
 * block. No port layer, no timeouts, no retries, no progress: not a sender to
 * ship, only what Node's event loop itself costs from an ACK on the line to the
 * next block on it, measured beside the station's sender and lrzsz's `sb`.
 */
import { closeSync, openSync } from 'node:fs';
import tty from 'node:tty';
import { ACK, CRC_REQUEST, EOT, LARGE_BLOCK, NAK, SMALL_BLOCK, frameBlock, headerPayload } from '../main/core/transfer/xmodem-framing.ts';

/** Block 0 (name and size), the 1024-byte data blocks, and the empty block 0 that ends the batch. */
function framesOf(fileName: string, data: Uint8Array): { header: Buffer; blocks: Buffer[]; batchEnd: Buffer } {
  const header = headerPayload(fileName, data.length);
  const blocks: Buffer[] = [];
  for (let offset = 0, sequence = 1; offset < data.length; offset += LARGE_BLOCK, sequence++) {
    blocks.push(frameBlock(sequence, data.subarray(offset, offset + LARGE_BLOCK), LARGE_BLOCK));
  }
  return {
    header: frameBlock(0, header, header.length <= SMALL_BLOCK ? SMALL_BLOCK : LARGE_BLOCK, 0x00),
    blocks,
    batchEnd: frameBlock(0, new Uint8Array(0), SMALL_BLOCK, 0x00),
  };
}

/**
 * Opens `pty`, calls `go()` (start the receiver), sends `data` as one YMODEM
 * file when asked, and closes the pty once `finished` settles (the receiver
 * has exited). Any byte out of turn ends it with an error: a reference that
 * needed a retry would not be measuring the floor.
 */
export async function sendAtNodeFloor(pty: string, fileName: string, data: Uint8Array, go: () => void, finished: Promise<unknown>): Promise<void> {
  const { header, blocks, batchEnd } = framesOf(fileName, data);
  const fd = openSync(pty, 'r+');
  const fromLine = new tty.ReadStream(fd);
  const toLine = new tty.WriteStream(fd);
  type Phase = 'start' | 'header' | 'data-request' | 'data' | 'end' | 'batch-request' | 'done';
  let phase: Phase = 'start';
  let next = 0;
  const send = (frame: Uint8Array, then: Phase) => {
    toLine.write(frame);
    phase = then;
  };
  /** The receiver's byte in this phase: what to do, or false when it is out of turn. */
  const answer = (byte: number): boolean => {
    if (phase === 'start' && byte === CRC_REQUEST) send(header, 'header');
    else if (phase === 'header' && byte === ACK) phase = 'data-request';
    else if (phase === 'data-request' && byte === CRC_REQUEST) send(blocks[next++]!, 'data');
    else if (phase === 'data' && byte === ACK) {
      if (next < blocks.length) send(blocks[next++]!, 'data');
      else send(Uint8Array.of(EOT), 'end');
    }
    else if (phase === 'end' && byte === NAK) send(Uint8Array.of(EOT), 'end');
    else if (phase === 'end' && byte === ACK) phase = 'batch-request';
    else if (phase === 'batch-request' && byte === CRC_REQUEST) send(batchEnd, 'done');
    else return phase === 'done';
    return true;
  };
  const outOfTurn = new Promise<never>((_, reject) => {
    fromLine.on('data', (chunk: Buffer) => {
      for (const byte of chunk) {
        if (!answer(byte)) reject(new Error(`node floor sender: byte 0x${byte.toString(16)} out of turn (${phase}, block ${next})`));
      }
    });
  });
  try {
    go();
    await Promise.race([finished, outOfTurn]);
  } finally {
    fromLine.destroy();
    toLine.destroy();
    // libuv opens a pty's slave again for each tty handle and closes that descriptor with the handle; this one is ours.
    closeSync(fd);
  }
}
