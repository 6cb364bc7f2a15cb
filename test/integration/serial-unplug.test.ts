import { afterEach, describe, expect, it } from 'vitest';
import { PortDisconnectedError } from '../../main/core/errors.ts';
import type { BytePort } from '../../main/core/ports/byte-port.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { makePtyPair, type PtyPair } from '../helpers/pty-pair.ts';

/** CPU milliseconds this process spends in the next second: a spinning read loop would burn most of it. */
async function cpuMsOverNextSecond(): Promise<number> {
  const start = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

describe('unplug detection on a real pty (socat killed = cable yanked)', () => {
  let pair: PtyPair | undefined;
  let port: BytePort | undefined;
  afterEach(async () => {
    await port?.close();
    await pair?.dispose();
    port = undefined;
    pair = undefined;
  });

  async function open() {
    pair = await makePtyPair();
    port = await openPort(pair.a);
    return { pair, port };
  }

  it('while idle: the port reports disconnected within 1 s', async () => {
    const { pair, port } = await open();
    const unpluggedAt = performance.now();
    pair.kill();
    const reason = await port.closed;
    expect(performance.now() - unpluggedAt).toBeLessThan(1000);
    expect(reason.kind).toBe('disconnected');
    expect(port.isOpen).toBe(false);
    expect(await cpuMsOverNextSecond()).toBeLessThan(150);
  });

  it('while reading: the pending read fails within 1 s with a disconnect error', async () => {
    const { pair, port } = await open();
    const reader = new PortReader(port);
    const read = reader.readLine({ timeoutMs: 10_000, maxLength: 256 }).catch((e: unknown) => e);
    const unpluggedAt = performance.now();
    pair.kill();
    const error = await read;
    expect(performance.now() - unpluggedAt).toBeLessThan(1000);
    expect(error).toBeInstanceOf(PortDisconnectedError);
    expect(await cpuMsOverNextSecond()).toBeLessThan(150);
  });

  it('while writing to a device that stopped reading: the write fails within 1 s', async () => {
    const { pair, port } = await open();
    // Nobody reads the far end, so a large write blocks in the kernel.
    const write = port.write(Buffer.alloc(4 << 20), { timeoutMs: 60_000 }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const unpluggedAt = performance.now();
    pair.kill();
    const error = await write;
    expect(performance.now() - unpluggedAt).toBeLessThan(1000);
    expect(error).toBeInstanceOf(PortDisconnectedError);
    // A later write fails at once instead of waiting.
    await expect(port.write(Buffer.from('PING\n'))).rejects.toBeInstanceOf(PortDisconnectedError);
  });

  it('a write that cannot finish times out instead of waiting forever', async () => {
    const { port } = await open();
    const started = performance.now();
    const error = await port.write(Buffer.alloc(4 << 20), { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect((await port.closed).kind).toBe('disconnected');
  });
});
