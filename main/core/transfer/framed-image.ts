import { LARGE_BLOCK, SMALL_BLOCK, frameBlockInto, framedSize } from './xmodem-framing.ts';

/**
 * The data blocks of one image, framed (header byte, sequence and its
 * complement, padded payload, CRC-16) into one buffer. Block i carries
 * sequence (i + 1) mod 256, as YMODEM, XMODEM-1K and ymodem-window number
 * their data blocks.
 */
export interface FramedBlocks {
  readonly frames: readonly Buffer[];
  /** The byte of the image just past block i: what is done once block i is acknowledged. */
  end(index: number): number;
}

/** Blocks framed between two turns of the event loop (about 0.2 ms of CPU), so other ports' bytes are not held up. */
const BLOCKS_PER_SLICE = 64;

/** One framing per image in use, held as long as the image is (the firmware cache shares one image per version). */
const framedImages = new WeakMap<Uint8Array, Promise<FramedBlocks>>();

/**
 * The image's blocks framed once for every port that sends it. Framing costs
 * about 3 µs of CPU a block: done between a block's write and its ACK, as a
 * sender otherwise would, it competes with the line's other processes for
 * the cores while they carry that block, and every answer comes later. Done
 * here, before the data blocks start (senders begin it while the receiver
 * starts up), in slices, so a 64 MiB image does not stall the other ports.
 * The framing is kept as long as the image object lives, so its bytes must
 * never change once it was sent (changed bytes would go out framed as they
 * were); firmware images do not change (they were checked against their hash).
 */
export function framedBlocks(data: Uint8Array): Promise<FramedBlocks> {
  const framed = framedImages.get(data);
  if (framed) return framed;
  const framing = frameImage(data);
  // A sender that gave up before its data blocks never awaits this, so its failure is handled here; a failure
  // (no memory for the framed copy this once) is forgotten, so the next transfer of the image frames it again.
  framing.catch(() => {
    if (framedImages.get(data) === framing) framedImages.delete(data);
  });
  framedImages.set(data, framing);
  return framing;
}

async function frameImage(data: Uint8Array): Promise<FramedBlocks> {
  const count = Math.ceil(data.length / LARGE_BLOCK);
  // Every block is 1024 bytes but a tail of 128 or less, which goes in a 128-byte block (less padding on the wire).
  const tail = data.length - (count - 1) * LARGE_BLOCK;
  const tailSize = count > 0 && tail <= SMALL_BLOCK ? SMALL_BLOCK : LARGE_BLOCK;
  const largeFrame = framedSize(LARGE_BLOCK);
  const buffer = Buffer.allocUnsafeSlow(count === 0 ? 0 : (count - 1) * largeFrame + framedSize(tailSize));
  const frames: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    if (index > 0 && index % BLOCKS_PER_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const offset = index * LARGE_BLOCK;
    const size = index === count - 1 ? tailSize : LARGE_BLOCK;
    const at = index * largeFrame;
    frameBlockInto(buffer, at, index + 1, data.subarray(offset, offset + size), size);
    frames.push(buffer.subarray(at, at + framedSize(size)));
  }
  return { frames, end: (index) => Math.min((index + 1) * LARGE_BLOCK, data.length) };
}
