import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPort } from '../../main/core/ports/open-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { sendFile } from '../../main/core/transfer/transfer.ts';
import { startLrzszOnPty, type LrzszOnPty } from '../helpers/lrzsz.ts';

describe('YMODEM sender interoperates with lrzsz', () => {
  let receiver: LrzszOnPty | undefined;
  afterEach(() => {
    receiver?.kill();
    receiver = undefined;
  });

  async function sendTo(program: string, args: string[], protocol: 'ymodem' | 'xmodem1k', data: Buffer) {
    receiver = await startLrzszOnPty(program, args);
    const port = await openPort(receiver.path);
    const reader = new PortReader(port);
    const progress: number[] = [];
    try {
      const result = await sendFile(
        { port, reader },
        { protocol, fileName: 'image.bin', data, onProgress: (p) => progress.push(p.bytesDone) },
      );
      const { code, stderr } = await receiver.done;
      return { result, code, stderr, dir: receiver.dir, progress };
    } finally {
      await port.close();
    }
  }

  it('delivers 1 MiB byte-identical to rb', async () => {
    const data = randomBytes(1 << 20);
    const { result, code, dir, progress } = await sendTo('rb', ['--ymodem', '-q'], 'ymodem', data);
    expect(code).toBe(0);
    expect(readFileSync(join(dir, 'image.bin')).equals(data)).toBe(true);
    expect(result.bytes).toBe(data.length);
    expect(progress.at(-1)).toBe(data.length);
  });

  it('delivers 1 MiB byte-identical to rb with rb injecting CRC errors', async () => {
    const data = randomBytes(1 << 20);
    const { result, code, dir } = await sendTo('rb', ['--ymodem', '-q', '--errors', '100000'], 'ymodem', data);
    expect(code).toBe(0);
    expect(readFileSync(join(dir, 'image.bin')).equals(data)).toBe(true);
    // rb corrupts a block every 100 000 bytes; each one must have been sent again.
    expect(result.resends).toBeGreaterThanOrEqual(8);
  });

  it('delivers an odd-sized file with XMODEM-1K to rx, padded only in the last block', async () => {
    const data = randomBytes(100_000 + 37);
    const { code, dir } = await sendTo('rx', ['-c', '-q', 'image.bin'], 'xmodem1k', data);
    expect(code).toBe(0);
    const received = readFileSync(join(dir, 'image.bin'));
    expect(received.subarray(0, data.length).equals(data)).toBe(true);
    expect(received.subarray(data.length).every((byte) => byte === 0x1a)).toBe(true);
  });
});
