import { SerialPortStream } from '@serialport/stream';
import { describe, expect, it } from 'vitest';
import { openSerialPort, type SerialBinding } from '../../main/core/ports/serial-port.ts';
import { describeCpu, expectIdle, looksIdle, measureCpuOver, measureUntilClosed } from '../helpers/cpu.ts';

interface FakeLine {
  binding: SerialBinding;
  /** Cuts the line: from now on every read returns 0 bytes at once, forever. */
  hangUp(): void;
}

/**
 * A line whose driver behaves like those in serialport/bindings-cpp#162:
 * reads wait for bytes while the line is up; after a hang-up every read
 * returns 0 bytes at once. With `pollWhileOpen` it is a broken driver that
 * polls for bytes in a loop instead of waiting: it spins a core while the
 * port is open, which the CPU measurement below must catch.
 */
function fakeLine(options: { pollWhileOpen?: boolean } = {}): FakeLine {
  let hungUp = false;
  const wakeReaders = new Set<() => void>();
  const binding = {
    list: async () => [],
    open: async (openOptions: { path: string; baudRate: number }) => ({
      isOpen: true,
      openOptions: { ...openOptions, dataBits: 8, lock: true, stopBits: 1, parity: 'none', rtscts: false, xon: false, xoff: false, xany: false, hupcl: true },
      async close() {
        this.isOpen = false;
        for (const wake of wakeReaders) wake();
      },
      async read(buffer: Buffer) {
        while (!hungUp && this.isOpen) {
          if (options.pollWhileOpen) await new Promise((resolve) => setImmediate(resolve));
          else await new Promise<void>((resolve) => wakeReaders.add(resolve));
        }
        if (!this.isOpen) throw Object.assign(new Error('Port is not open'), { canceled: true });
        return { buffer, bytesRead: 0 };
      },
      write: async () => undefined,
      update: async () => undefined,
      set: async () => undefined,
      get: async () => ({ cts: false, dsr: false, dcd: false }),
      getBaudRate: async () => ({ baudRate: openOptions.baudRate }),
      flush: async () => undefined,
      drain: async () => undefined,
    }),
  };
  return {
    binding: binding as unknown as SerialBinding,
    hangUp() {
      hungUp = true;
      for (const wake of wakeReaders) wake();
      wakeReaders.clear();
    },
  };
}

const settings = { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 } as const;

describe('hang-up workaround for serialport/bindings-cpp#162 (zero-byte reads)', () => {
  it('the bare stream never reports a close after zero-byte reads (the bug)', async () => {
    const line = fakeLine();
    line.hangUp();
    const stream = new SerialPortStream({ binding: line.binding, path: '/dev/fake', baudRate: 115200 });
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

  it('the station waits without CPU while open, notices the hang-up within 1 s without spinning, and stays quiet after', async () => {
    const line = fakeLine();
    const port = await openSerialPort('/dev/fake', { binding: line.binding, settings });
    expectIdle(await measureCpuOver(1000), 'open and idle');

    line.hangUp();
    const hangUp = await measureUntilClosed(port, 2000);
    expect(hangUp.value, `the zero-byte reads were not reported within 2 s (${describeCpu(hangUp)})`).toMatchObject({ kind: 'disconnected' });
    expect(hangUp.wallMs).toBeLessThan(1000);
    expectIdle(hangUp, 'hung up, not yet noticed');
    if (hangUp.value?.kind === 'disconnected') expect(hangUp.value.error.describe()).toMatch(/port \/dev\/fake: .*hung up/);

    expectIdle(await measureCpuOver(1000), 'after the disconnect');
  });

  it('the measurement catches a driver that spins while the port is open (a broken variant)', async () => {
    const line = fakeLine({ pollWhileOpen: true });
    const port = await openSerialPort('/dev/fake', { binding: line.binding, settings });
    try {
      const open = await measureCpuOver(500);
      expect(looksIdle(open), `open on a polling driver: ${describeCpu(open)}`).toBe(false);
    } finally {
      await port.close();
    }
  });
});
