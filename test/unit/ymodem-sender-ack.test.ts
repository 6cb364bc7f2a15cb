import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PortDisconnectedError } from '../../main/core/errors.ts';
import type { BytePort, PortCloseReason } from '../../main/core/ports/byte-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { sendFile } from '../../main/core/transfer/transfer.ts';
import { ACK, CRC_REQUEST, EOT, NAK } from '../../main/core/transfer/xmodem-framing.ts';

/**
 * A port whose incoming bytes arrive exactly when the test says, synchronously, as a serial port's
 * poller delivers them: what the sender writes from inside that delivery is visible the moment it returns.
 */
class ScriptedPort implements BytePort {
  readonly path = 'scripted://unit';
  readonly writes: Buffer[] = [];
  readonly closed: Promise<PortCloseReason> = new Promise(() => undefined);
  isOpen = true;
  failWrites = false;
  private readonly listeners = new Set<(chunk: Buffer) => void>();
  private wrote: (() => void) | undefined;

  write(data: Uint8Array): Promise<void> {
    if (this.failWrites) return Promise.reject(new PortDisconnectedError('the unit was unplugged', { where: { port: this.path } }));
    this.writes.push(Buffer.from(data));
    this.wrote?.();
    return Promise.resolve();
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.isOpen = false;
  }

  deliver(...bytes: number[]): void {
    for (const listener of this.listeners) listener(Buffer.from(bytes));
  }

  /** Resolves once the sender has written `count` chunks in all. */
  async written(count: number): Promise<void> {
    while (this.writes.length < count) await new Promise<void>((resolve) => (this.wrote = resolve));
  }

  /** Resolves once the sender waits for the line's next byte (its read is armed). */
  async waiting(reader: PortReader): Promise<void> {
    while (!(reader as unknown as { waiter?: unknown }).waiter) await new Promise((resolve) => setImmediate(resolve));
  }
}

/** An XMODEM-1K transfer under way: the receiver asked ('C'), block 1 went out, and the sender waits for its answer. */
async function atFirstBlock(data: Buffer, signal?: AbortSignal) {
  const port = new ScriptedPort();
  const reader = new PortReader(port);
  const sent = sendFile({ port, reader }, { protocol: 'xmodem1k', fileName: 'fw.bin', data, signal, blockTimeoutMs: 5000 });
  await port.waiting(reader);
  port.deliver(CRC_REQUEST);
  await port.written(1);
  await port.waiting(reader);
  return { port, reader, sent };
}

describe('stop-and-wait sender: the next block answers the ACK', () => {
  it('writes block n+1 inside the delivery of block n\'s ACK, before any await resumes', async () => {
    const { port, reader, sent } = await atFirstBlock(randomBytes(3000));
    expect(port.writes[0]![1]).toBe(1);

    port.deliver(ACK);
    // Synchronously: block 2 left in the same wake-up as the ACK that asked for it.
    expect(port.writes).toHaveLength(2);
    expect(port.writes[1]![1]).toBe(2);

    await port.waiting(reader);
    port.deliver(ACK);
    expect(port.writes).toHaveLength(3);
    expect(port.writes[2]![1]).toBe(3);

    // The last block's ACK has no block after it: EOT follows by the ordinary path, once.
    await port.waiting(reader);
    port.deliver(ACK);
    await port.written(4);
    expect([...port.writes[3]!]).toEqual([EOT]);
    await port.waiting(reader);
    port.deliver(ACK);
    const result = await sent;
    expect(result).toMatchObject({ blocks: 3, resends: 0 });
    expect(port.writes).toHaveLength(4);
  });

  it('answers a NAK with the same block, and sends nothing ahead', async () => {
    const { port, reader, sent } = await atFirstBlock(randomBytes(2000));

    port.deliver(NAK);
    expect(port.writes).toHaveLength(1);
    await port.written(2);
    expect(port.writes[1]!.equals(port.writes[0]!)).toBe(true);

    await port.waiting(reader);
    port.deliver(ACK);
    expect(port.writes[2]![1]).toBe(2);
    await port.waiting(reader);
    port.deliver(ACK);
    await port.written(4);
    await port.waiting(reader);
    port.deliver(ACK);
    expect(await sent).toMatchObject({ blocks: 2, resends: 1 });
  });

  it('sends nothing ahead once the transfer is cancelled', async () => {
    const controller = new AbortController();
    const { port, sent } = await atFirstBlock(randomBytes(3000), controller.signal);

    controller.abort();
    port.deliver(ACK);
    await expect(sent).rejects.toThrow(/cancelled/);
    // Block 1 and the CAN sequence that tells the receiver to stop: no block 2.
    expect(port.writes.some((chunk) => chunk[0] === 0x02 && chunk[1] === 2)).toBe(false);
  });

  it('fails with the port\'s own error when the block written ahead cannot go out', async () => {
    const { port, sent } = await atFirstBlock(randomBytes(3000));

    port.failWrites = true;
    port.deliver(ACK);
    await expect(sent).rejects.toBeInstanceOf(PortDisconnectedError);
  });
});
