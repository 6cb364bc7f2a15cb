/**
 * The least a Node sender can do per YMODEM block, as references for the
 * station's: every block framed before the transfer starts, and one listener
 * that answers each ACK with the next block. No timeouts, no retries, no
 * progress: not senders to ship, only what answering costs below the
 * station's transfer code, measured beside it and lrzsz's `sb`.
 *
 * - The Node floor reads and writes through libuv's own tty handle on the pty
 *   (a net.Socket stream whose poll stays armed between reads).
 * - The port floor reads and writes through the station's port layer
 *   (`openPort`: serialport's binding and poller, the event-loop tty I/O, the
 *   write timeouts).
 * Two I/O paths under the same least logic: how far apart they are says what
 * the path costs, and the station above the port floor is its transfer code.
 */
import { closeSync, openSync } from 'node:fs';
import tty from 'node:tty';
import { openPort } from '../main/core/ports/open-port.ts';
import { framedBlocks } from '../main/core/transfer/framed-image.ts';
import { ACK, CRC_REQUEST, EOT, NAK, batchEndFrame, headerFrame } from '../main/core/transfer/xmodem-framing.ts';

/** Block 0 (name and size), the data blocks (framed once per image, as the station frames them), and the empty block 0 that ends the batch. */
export async function framesOf(fileName: string, data: Uint8Array): Promise<{ header: Buffer; blocks: readonly Buffer[]; batchEnd: Buffer }> {
  return { header: headerFrame(fileName, data.length), blocks: (await framedBlocks(data)).frames, batchEnd: batchEndFrame() };
}

/**
 * The whole YMODEM sender as a state machine over pre-framed blocks: feed it
 * the receiver's bytes; it writes the answer to each at once. A byte out of
 * turn fails it: a reference that needed a retry would not be measuring the
 * floor.
 */
export function floorSender(frames: Awaited<ReturnType<typeof framesOf>>, write: (frame: Uint8Array) => void, fail: (error: Error) => void): (chunk: Buffer) => void {
  const { header, blocks, batchEnd } = frames;
  type Phase = 'start' | 'header' | 'data-request' | 'data' | 'end' | 'batch-request' | 'done';
  let phase: Phase = 'start';
  let next = 0;
  const send = (frame: Uint8Array, then: Phase) => {
    write(frame);
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
    } else if (phase === 'end' && byte === NAK) send(Uint8Array.of(EOT), 'end');
    else if (phase === 'end' && byte === ACK) phase = 'batch-request';
    else if (phase === 'batch-request' && byte === CRC_REQUEST) send(batchEnd, 'done');
    else return phase === 'done';
    return true;
  };
  return (chunk) => {
    for (const byte of chunk) {
      if (!answer(byte)) fail(new Error(`floor sender: byte 0x${byte.toString(16)} out of turn (${phase}, block ${next})`));
    }
  };
}

/**
 * The Node floor: opens `pty` with libuv's tty handles, calls `go()` (start
 * the receiver), sends `data` as one YMODEM file, and closes the pty once
 * `finished` settles (the receiver has exited).
 */
export async function sendAtNodeFloor(pty: string, fileName: string, data: Uint8Array, go: () => void, finished: Promise<unknown>): Promise<void> {
  const frames = await framesOf(fileName, data);
  const fd = openSync(pty, 'r+');
  let fromLine: tty.ReadStream | undefined;
  let toLine: tty.WriteStream | undefined;
  try {
    const reader = (fromLine = new tty.ReadStream(fd));
    const writer = (toLine = new tty.WriteStream(fd));
    const outOfTurn = new Promise<never>((_, reject) => {
      reader.on('data', floorSender(frames, (frame) => writer.write(frame), reject));
    });
    go();
    await Promise.race([finished, outOfTurn]);
  } finally {
    fromLine?.destroy();
    toLine?.destroy();
    closeOwnDescriptor(fd);
  }
}

/**
 * libuv opens a pty's slave again for each tty handle, puts that descriptor on
 * `fd`'s number with dup2 and closes it with the handle, so `fd` stays ours to
 * close. Where it cannot open the slave again it uses `fd` itself and has
 * closed it already: EBADF then means there is nothing left to close.
 */
function closeOwnDescriptor(fd: number): void {
  try {
    closeSync(fd);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EBADF') throw error;
  }
}

/** The port floor: the same sender on the station's port layer (`openPort`). */
export async function sendAtPortFloor(pty: string, fileName: string, data: Uint8Array, go: () => void, finished: Promise<unknown>): Promise<void> {
  const frames = await framesOf(fileName, data);
  const port = await openPort(pty);
  try {
    const outOfTurn = new Promise<never>((_, reject) => {
      port.onData(floorSender(frames, (frame) => void port.write(frame).catch(reject), reject));
    });
    go();
    await Promise.race([finished, outOfTurn]);
  } finally {
    await port.close();
  }
}
