import { SerialPortStream } from '@serialport/stream';
import { describe, expect, it } from 'vitest';
import { openSerialPort, type SerialBinding } from '../../main/core/ports/serial-port.ts';

/**
 * A binding that behaves like the drivers in serialport/bindings-cpp#162:
 * after a hang-up every read returns 0 bytes at once, forever.
 */
function hungUpBinding(): SerialBinding {
  const binding = {
    list: async () => [],
    open: async (options: { path: string; baudRate: number }) => ({
      isOpen: true,
      openOptions: { ...options, dataBits: 8, lock: true, stopBits: 1, parity: 'none', rtscts: false, xon: false, xoff: false, xany: false, hupcl: true },
      async close() {
        this.isOpen = false;
      },
      read: async (buffer: Buffer) => ({ buffer, bytesRead: 0 }),
      write: async () => undefined,
      update: async () => undefined,
      set: async () => undefined,
      get: async () => ({ cts: false, dsr: false, dcd: false }),
      getBaudRate: async () => ({ baudRate: options.baudRate }),
      flush: async () => undefined,
      drain: async () => undefined,
    }),
  };
  return binding as unknown as SerialBinding;
}

describe('hang-up workaround for serialport/bindings-cpp#162', () => {
  it('the bare stream never reports a close after zero-byte reads (the bug)', async () => {
    const stream = new SerialPortStream({ binding: hungUpBinding(), path: '/dev/fake', baudRate: 115200 });
    let closed = false;
    stream.on('close', () => {
      closed = true;
    });
    stream.on('data', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(closed).toBe(false);
    expect(stream.isOpen).toBe(true);
    stream.destroy();
  });

  it('the station turns zero-byte reads into a disconnect', async () => {
    const port = await openSerialPort('/dev/fake', {
      binding: hungUpBinding(),
      settings: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 },
    });
    const started = performance.now();
    const reason = await port.closed;
    expect(performance.now() - started).toBeLessThan(1000);
    expect(reason).toMatchObject({ kind: 'disconnected' });
    if (reason.kind === 'disconnected') expect(reason.error.describe()).toMatch(/port \/dev\/fake: .*hung up/);
  });
});
