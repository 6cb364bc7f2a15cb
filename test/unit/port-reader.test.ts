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
});
