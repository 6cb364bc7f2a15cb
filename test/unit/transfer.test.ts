import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TransferAbortedError, TransferError } from '../../main/core/errors.ts';
import { createMemoryPortPair } from '../../main/core/ports/memory-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { crc16Xmodem } from '../../main/core/transfer/crc16.ts';
import { receiveFile, sendFile } from '../../main/core/transfer/transfer.ts';
import { ACK, CAN, CRC_REQUEST, NAK, frameBlock } from '../../main/core/transfer/xmodem-framing.ts';

describe('CRC-16/XMODEM', () => {
  it('matches the standard check value', () => {
    expect(crc16Xmodem(Buffer.from('123456789'))).toBe(0x31c3);
  });

  it('frames a block with sequence complement, padding and CRC', () => {
    const frame = frameBlock(1, Buffer.from('hi'), 128);
    expect(frame.length).toBe(133);
    expect([...frame.subarray(0, 5)]).toEqual([0x01, 1, 254, 0x68, 0x69]);
    expect(frame[5]).toBe(0x1a);
    expect((frame[131]! << 8) | frame[132]!).toBe(crc16Xmodem(frame, 3, 131));
  });
});

function link() {
  const [hostPort, devicePort] = createMemoryPortPair('mem://host');
  return {
    host: { port: hostPort, reader: new PortReader(hostPort) },
    device: { port: devicePort, reader: new PortReader(devicePort) },
  };
}

describe('YMODEM / XMODEM-1K sender and receiver', () => {
  for (const protocol of ['ymodem', 'xmodem1k'] as const) {
    for (const size of [1, 128, 129, 1024, 1025, 70_000]) {
      it(`${protocol}: delivers ${size} bytes exactly`, async () => {
        const { host, device } = link();
        const data = randomBytes(size);
        const received = receiveFile(device, { protocol, maxBytes: 1 << 20, expectedSize: protocol === 'xmodem1k' ? size : undefined });
        await sendFile(host, { protocol, fileName: 'fw.bin', data });
        const file = await received;
        expect(file.data.equals(data)).toBe(true);
        if (protocol === 'ymodem') expect(file.fileName).toBe('fw.bin');
      });
    }
  }

  it('resends a block the receiver NAKs, and counts it', async () => {
    const { host, device } = link();
    const data = randomBytes(3000);
    const sent = sendFile(host, { protocol: 'xmodem1k', fileName: 'x', data, blockTimeoutMs: 500 });
    await device.port.write(Uint8Array.of(CRC_REQUEST));
    // Refuse the first copy of block 1, accept everything after.
    const first = await device.reader.readBytes(1029, { timeoutMs: 1000 });
    expect(first[1]).toBe(1);
    await device.port.write(Uint8Array.of(NAK));
    for (let block = 0; block < 3; block++) {
      await device.reader.readBytes(1029, { timeoutMs: 1000 });
      await device.port.write(Uint8Array.of(ACK));
    }
    await device.reader.readByte({ timeoutMs: 1000 }); // EOT
    await device.port.write(Uint8Array.of(ACK));
    expect((await sent).resends).toBe(1);
  });

  it('resends block 1 at once when a receiver that missed it asks again with C, without waiting for the block timeout', async () => {
    const { host, device } = link();
    const data = randomBytes(2000);
    // A block timeout far longer than the test: only the receiver's second C can bring block 1 again in time.
    const sent = sendFile(host, { protocol: 'xmodem1k', fileName: 'x', data, blockTimeoutMs: 60_000 });
    await device.port.write(Uint8Array.of(CRC_REQUEST));
    const first = await device.reader.readBytes(1029, { timeoutMs: 5000 });
    expect(first[1]).toBe(1);
    // The receiver did not see it start (it was still booting) and asks again.
    await device.port.write(Uint8Array.of(CRC_REQUEST));
    const again = await device.reader.readBytes(1029, { timeoutMs: 5000 });
    expect(again.equals(first)).toBe(true);
    await device.port.write(Uint8Array.of(ACK));
    const second = await device.reader.readBytes(1029, { timeoutMs: 5000 });
    expect(second[1]).toBe(2);
    await device.port.write(Uint8Array.of(ACK));
    await device.reader.readByte({ timeoutMs: 5000 }); // EOT
    await device.port.write(Uint8Array.of(ACK));
    expect((await sent).resends).toBe(1);
  });

  it('stops when the receiver cancels with two CANs', async () => {
    const { host, device } = link();
    const sent = sendFile(host, { protocol: 'ymodem', fileName: 'x', data: randomBytes(5000) });
    await device.port.write(Uint8Array.of(CRC_REQUEST));
    await device.reader.readBytes(133, { timeoutMs: 1000 });
    await device.port.write(Uint8Array.of(CAN, CAN));
    await expect(sent).rejects.toBeInstanceOf(TransferAbortedError);
  });

  it('gives up after the configured attempts when nothing answers, and tells the receiver with CAN', async () => {
    const { host, device } = link();
    const sent = sendFile(host, { protocol: 'xmodem1k', fileName: 'x', data: randomBytes(100), blockTimeoutMs: 30, maxAttempts: 3 });
    await device.port.write(Uint8Array.of(CRC_REQUEST));
    await expect(sent).rejects.toBeInstanceOf(TransferError);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const tail = await device.reader.readBytes(device.reader.pending, { timeoutMs: 100 });
    expect(tail.includes(CAN)).toBe(true);
  });

  it('the receiver gives up on a sender that streams bytes starting no block, in bounded time: noise does not extend the wait for a block', async () => {
    const { host, device } = link();
    const noise = setInterval(() => void host.port.write(Uint8Array.of(0x55)).catch(() => undefined), 20);
    try {
      const started = performance.now();
      await expect(receiveFile(device, { protocol: 'ymodem', maxBytes: 1000, blockTimeoutMs: 200, maxErrors: 3 })).rejects.toBeInstanceOf(TransferError);
      // 1 + 3 waits of 200 ms at most; without a deadline per block every noise byte restarted the 200 ms and it never ended.
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      clearInterval(noise);
    }
  });

  it('the receiver refuses a file larger than it can hold', async () => {
    const { host, device } = link();
    const received = receiveFile(device, { protocol: 'ymodem', maxBytes: 1000 });
    const sent = sendFile(host, { protocol: 'ymodem', fileName: 'big', data: randomBytes(5000), blockTimeoutMs: 500 });
    await expect(received).rejects.toThrow(/more than the 1000 that fit/);
    await expect(sent).rejects.toBeInstanceOf(TransferAbortedError);
  });
});
