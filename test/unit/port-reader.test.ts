import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CancelledError, PortDisconnectedError, ProtocolError, TimeoutError } from '../../main/core/errors.ts';
import { createMemoryPortPair } from '../../main/core/ports/memory-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';

function pair() {
  const [station, device] = createMemoryPortPair('mem://reader');
  return { reader: new PortReader(station), device };
}

describe('PortReader', () => {
  it('splits lines on \\n and strips \\r', async () => {
    const { reader, device } = pair();
    await device.write(Buffer.from('SERIAL A1\r\nVERSION none\n'));
    expect(await reader.readLine({ timeoutMs: 100, maxLength: 256 })).toBe('SERIAL A1');
    expect(await reader.readLine({ timeoutMs: 100, maxLength: 256 })).toBe('VERSION none');
  });

  it('rejects an over-long line without buffering it, then resynchronises', async () => {
    const { reader, device } = pair();
    await device.write(Buffer.alloc(10_000, 0x41));
    await expect(reader.readLine({ timeoutMs: 200, maxLength: 256 })).rejects.toBeInstanceOf(ProtocolError);
    await device.write(Buffer.from('AAAA\nOK\n'));
    expect(await reader.readLine({ timeoutMs: 200, maxLength: 256 })).toBe('OK');
    expect(reader.pending).toBe(0);
  });

  it('names a timeout and shows the partial bytes it got', async () => {
    const { reader, device } = pair();
    await device.write(Buffer.from([0xde, 0xad]));
    const error = await reader.readLine({ timeoutMs: 50, maxLength: 256, awaiting: 'SERIAL?' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toBe('no answer to SERIAL? within 50 ms; it sent 2 bytes that are not a full line (de ad)');
  });

  it('prints a timeout in whole milliseconds (callers pass what is left of a deadline)', async () => {
    const { reader } = pair();
    const error = await reader.readLine({ timeoutMs: 20.4567, maxLength: 256, awaiting: 'VERSION?' }).catch((e: unknown) => e);
    expect((error as TimeoutError).message).toBe('no answer to VERSION? within 20 ms');
  });

  it('fails a pending read at once when the port goes away', async () => {
    const { reader, device } = pair();
    const read = reader.readByte({ timeoutMs: 10_000 });
    await device.close();
    await expect(read).rejects.toBeInstanceOf(PortDisconnectedError);
  });

  it('honours an AbortSignal', async () => {
    const { reader } = pair();
    const controller = new AbortController();
    const read = reader.readLine({ timeoutMs: 10_000, maxLength: 256, signal: controller.signal });
    controller.abort();
    await expect(read).rejects.toBeInstanceOf(CancelledError);
  });
  it('a read started from onByte gets the next byte: the first read, ending after it, does not drop it', async () => {
    const { reader, device } = pair();
    let next: Promise<number> | undefined;
    const first = reader.readByte({
      timeoutMs: 5000,
      // A stop-and-wait sender: the answer to this byte is the next read, started from the byte's own wake-up.
      onByte: () => (next = reader.readByte({ timeoutMs: 5000 })),
    });
    await device.write(Buffer.from([0x06]));
    expect(await first).toBe(0x06);
    await device.write(Buffer.from([0x15]));
    expect(await next).toBe(0x15);
  });

  it('a read that onByte answered leaves no timer and no abort listener behind', async () => {
    const { reader, device } = pair();
    const controller = new AbortController();
    let heard = 0;
    const read = reader.readByte({ timeoutMs: 60_000, signal: controller.signal, onByte: () => heard++ });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await device.write(Buffer.from([0x06]));
    expect(await read).toBe(0x06);
    expect(heard).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // An abort now reaches no read: nothing is pending, and a new read works.
    controller.abort();
    await device.write(Buffer.from([0x07]));
    expect(await reader.readByte({ timeoutMs: 5000 })).toBe(0x07);
  });
});
