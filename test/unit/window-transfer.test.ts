import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BytePort } from '../../main/core/ports/byte-port.ts';
import { createMemoryPortPair } from '../../main/core/ports/memory-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { receiveFileWindowed, sendFileWindowed } from '../../main/core/transfer/window-transfer.ts';
import { receiveFile, sendFile } from '../../main/core/transfer/transfer.ts';

const linkOf = (port: BytePort) => ({ port, reader: new PortReader(port) });

/**
 * A line between sender and receiver that can damage what crosses it:
 * `toDevice` and `toHost` may change or drop each chunk.
 */
function faultyLine(faults: { toDevice?: (chunk: Buffer, index: number) => Buffer | undefined; toHost?: (chunk: Buffer, index: number) => Buffer | undefined } = {}) {
  const [host, hostSide] = createMemoryPortPair('host');
  const [deviceSide, device] = createMemoryPortPair('device');
  let down = 0;
  let up = 0;
  hostSide.onData((chunk) => {
    const passed = faults.toDevice ? faults.toDevice(Buffer.from(chunk), down++) : chunk;
    if (passed) void deviceSide.write(passed);
  });
  deviceSide.onData((chunk) => {
    const passed = faults.toHost ? faults.toHost(Buffer.from(chunk), up++) : chunk;
    if (passed) void hostSide.write(passed);
  });
  return { host: linkOf(host), device: linkOf(device) };
}

describe('ymodem-window: YMODEM-1K blocks with a sliding window', () => {
  for (const size of [0, 1, 128, 129, 1024, 1025, 300_000]) {
    it(`delivers ${size} bytes exactly${size > 256 * 1024 ? ' (sequence numbers wrap)' : ''}`, async () => {
      const { host, device } = faultyLine();
      const data = randomBytes(size);
      const received = receiveFileWindowed(device, { maxBytes: 1 << 20 });
      const result = await sendFileWindowed(host, { protocol: 'ymodem-window', fileName: 'fw.bin', data });
      const file = await received;
      expect(file.data.equals(data)).toBe(true);
      expect(file.fileName).toBe('fw.bin');
      expect(result.resends).toBe(0);
    });
  }

  it('recovers from damaged blocks by going back, and counts the blocks sent again', async () => {
    // Every 37th chunk towards the device has a byte flipped: the CRC catches it.
    const { host, device } = faultyLine({
      toDevice: (chunk, index) => {
        if (index % 37 === 5 && chunk.length > 100) chunk[chunk.length >> 1]! ^= 0x55;
        return chunk;
      },
    });
    const data = randomBytes(200_000);
    const received = receiveFileWindowed(device, { maxBytes: 1 << 20, maxErrors: 100 });
    const result = await sendFileWindowed(host, { protocol: 'ymodem-window', fileName: 'fw.bin', data, blockTimeoutMs: 500 });
    expect((await received).data.equals(data)).toBe(true);
    expect(result.resends).toBeGreaterThan(0);
  });

  it('recovers from lost acknowledgements and lost blocks', async () => {
    const { host, device } = faultyLine({
      toDevice: (chunk, index) => (index === 20 ? undefined : chunk),
      toHost: (chunk, index) => (index % 11 === 3 ? undefined : chunk),
    });
    const data = randomBytes(100_000);
    const received = receiveFileWindowed(device, { maxBytes: 1 << 20, maxErrors: 100, blockTimeoutMs: 500 });
    const result = await sendFileWindowed(host, { protocol: 'ymodem-window', fileName: 'fw.bin', data, blockTimeoutMs: 500 });
    expect((await received).data.equals(data)).toBe(true);
    expect(result.resends).toBeGreaterThan(0);
  });

  it('gives up after the configured attempts when nothing comes back, and tells the receiver with CAN', async () => {
    const { host, device } = faultyLine({ toHost: (chunk, index) => (index === 0 ? chunk : undefined) });
    const cancelled: number[] = [];
    device.port.onData((chunk) => cancelled.push(...chunk));
    void device.port.write(Uint8Array.of(0x57));
    await expect(sendFileWindowed(host, { protocol: 'ymodem-window', fileName: 'fw.bin', data: randomBytes(10_000), blockTimeoutMs: 50, maxAttempts: 3 })).rejects.toThrow(/not acknowledged after 3 tries/);
    await expect.poll(() => cancelled.filter((byte) => byte === 0x18).length).toBeGreaterThanOrEqual(2);
  });

  it('stops when the receiver cancels with two CANs', async () => {
    const { host, device } = faultyLine();
    void device.port.write(Uint8Array.of(0x57));
    const sending = sendFileWindowed(host, { protocol: 'ymodem-window', fileName: 'fw.bin', data: randomBytes(10_000) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await device.port.write(Uint8Array.of(0x18, 0x18));
    await expect(sending).rejects.toThrow(/receiver cancelled/);
  });

  it('the receiver refuses a file larger than it can hold', async () => {
    const { host, device } = faultyLine();
    const received = receiveFileWindowed(device, { maxBytes: 1000 });
    const sending = sendFileWindowed(host, { protocol: 'ymodem-window', fileName: 'fw.bin', data: randomBytes(5000) });
    await expect(received).rejects.toThrow(/more than the 1000/);
    await expect(sending).rejects.toThrow(/cancelled/);
  });

  it('is reached through sendFile / receiveFile by its protocol name', async () => {
    const { host, device } = faultyLine();
    const data = randomBytes(5000);
    const received = receiveFile(device, { protocol: 'ymodem-window', maxBytes: 1 << 20 });
    await sendFile(host, { protocol: 'ymodem-window', fileName: 'fw.bin', data });
    expect((await received).data.equals(data)).toBe(true);
  });
});
