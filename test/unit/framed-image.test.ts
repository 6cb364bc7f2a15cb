import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { framedBlocks } from '../../main/core/transfer/framed-image.ts';
import { LARGE_BLOCK, SMALL_BLOCK, frameBlock } from '../../main/core/transfer/xmodem-framing.ts';

/** What a sender framing block by block would put on the wire. */
function framedOneByOne(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0, sequence = 1; offset < data.length; sequence++) {
    const size = data.length - offset <= SMALL_BLOCK ? SMALL_BLOCK : LARGE_BLOCK;
    frames.push(frameBlock(sequence, data.subarray(offset, offset + size), size));
    offset += size;
  }
  return frames;
}

describe('an image framed once for every port', () => {
  for (const size of [0, 1, 128, 129, 1024, 1025, 1024 * 300 + 7]) {
    it(`frames ${size} bytes exactly as block-by-block framing does, with each block's end`, async () => {
      const data = randomBytes(size);
      const blocks = await framedBlocks(data);
      expect(blocks.frames.map((frame) => frame.toString('hex'))).toEqual(framedOneByOne(data).map((frame) => frame.toString('hex')));
      const ends = blocks.frames.map((_, index) => blocks.end(index));
      expect(ends.at(-1) ?? 0).toBe(size);
      expect(ends).toEqual(ends.map((_, index) => Math.min((index + 1) * LARGE_BLOCK, size)));
    });
  }

  it('numbers blocks past 255 modulo 256', async () => {
    const blocks = await framedBlocks(randomBytes(LARGE_BLOCK * 300));
    expect([...blocks.frames[255]!.subarray(1, 3)]).toEqual([0, 0xff]);
    expect([...blocks.frames[256]!.subarray(1, 3)]).toEqual([1, 0xfe]);
  });

  it('frames an image once however many ports send it, into one buffer', async () => {
    const image = randomBytes(LARGE_BLOCK * 40);
    const [first, second] = await Promise.all([framedBlocks(image), framedBlocks(image)]);
    expect(second).toBe(first);
    expect(await framedBlocks(image)).toBe(first);
    expect(new Set(first.frames.map((frame) => frame.buffer)).size).toBe(1);
    // Another image with the same bytes is another image: nothing is shared by content.
    expect(await framedBlocks(Buffer.from(image))).not.toBe(first);
  });

  it('lets the event loop turn while it frames a large image', async () => {
    const framing = framedBlocks(randomBytes(4 * 1024 * 1024));
    let framedFirst = false;
    void framing.then(() => (framedFirst = true));
    // Queued after framing began: it runs between two slices, before the 4096 blocks are done.
    await new Promise((resolve) => setImmediate(resolve));
    expect(framedFirst).toBe(false);
    expect((await framing).frames).toHaveLength(4096);
  });

  it('frames the image again after a framing that failed, instead of failing every later transfer of it', async () => {
    const image = randomBytes(LARGE_BLOCK * 3);
    // Memory for the framed copy could not be had this once (a busy station).
    const allocation = vi.spyOn(Buffer, 'allocUnsafeSlow').mockImplementationOnce(() => {
      throw new RangeError('Array buffer allocation failed');
    });
    try {
      await expect(framedBlocks(image)).rejects.toThrow('Array buffer allocation failed');
    } finally {
      allocation.mockRestore();
    }
    expect((await framedBlocks(image)).frames).toHaveLength(3);
  });
});
