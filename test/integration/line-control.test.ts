import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LineControlUnsupportedError, type LineControlEvent } from '../../main/core/ports/line-control.ts';
import { createMemoryPortPair } from '../../main/core/ports/memory-port.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { openSerialPort, type SerialBinding } from '../../main/core/ports/serial-port.ts';
import { makePtyPair, type PtyPair } from '../helpers/pty-pair.ts';

const SETTINGS = { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 } as const;

/** A serialport binding that records what reaches the driver, and can fail set() the way a pty does. */
function recordingBinding(options: { setError?: string } = {}) {
  const calls: Array<{ set?: Record<string, boolean>; update?: { baudRate: number } }> = [];
  const binding = {
    list: async () => [],
    open: async (openOptions: { path: string; baudRate: number }) => ({
      isOpen: true,
      openOptions: { ...openOptions, dataBits: 8, lock: true, stopBits: 1, parity: 'none', rtscts: false, xon: false, xoff: false, xany: false, hupcl: true },
      async close() {
        this.isOpen = false;
      },
      read: () => new Promise(() => undefined),
      write: async () => undefined,
      update: async (update: { baudRate: number }) => void calls.push({ update }),
      set: async ({ dtr, rts, brk }: Record<string, boolean>) => {
        if (options.setError) throw new Error(options.setError);
        calls.push({ set: { dtr: dtr!, rts: rts!, brk: brk! } });
      },
      get: async () => ({ cts: false, dsr: false, dcd: false }),
      getBaudRate: async () => ({ baudRate: openOptions.baudRate }),
      flush: async () => undefined,
      drain: async () => undefined,
    }),
  };
  return { binding: binding as unknown as SerialBinding, calls };
}

describe('line control on a serial port', () => {
  it('always sends every line, so setting DTR alone never moves RTS (serialport would assert it)', async () => {
    const { binding, calls } = recordingBinding();
    const port = await openSerialPort('/dev/fake-esp', { binding, settings: SETTINGS });
    await port.control!.setSignals({ dtr: false });
    await port.control!.setSignals({ rts: false });
    await port.control!.setSignals({ dtr: true });
    await port.control!.setBaudRate(921600);
    expect(calls).toEqual([
      { set: { dtr: false, rts: true, brk: false } },
      { set: { dtr: false, rts: false, brk: false } },
      { set: { dtr: true, rts: false, brk: false } },
      { update: { baudRate: 921600 } },
    ]);
    await port.close();
  });

  it('says plainly that a port without modem lines cannot reset a unit', async () => {
    const { binding } = recordingBinding({ setError: 'Inappropriate ioctl for device, cannot set' });
    const port = await openSerialPort('/dev/fake-pty', { binding, settings: SETTINGS });
    const error = await port.control!.setSignals({ rts: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LineControlUnsupportedError);
    expect((error as LineControlUnsupportedError).describe()).toMatch(/port \/dev\/fake-pty: this port cannot set the modem lines: it has no modem control lines.*hold BOOT/);
    await port.close();
  });

  it('refuses a baud rate no UART can run', async () => {
    const { binding, calls } = recordingBinding();
    const port = await openSerialPort('/dev/fake-esp', { binding, settings: SETTINGS });
    await expect(port.control!.setBaudRate(0)).rejects.toMatchObject({ code: 'LINE_CONTROL_FAILED' });
    expect(calls).toEqual([]);
    await port.close();
  });

  describe('on a real pty', () => {
    let pair: PtyPair | undefined;
    afterEach(async () => {
      await pair?.dispose();
      pair = undefined;
    });

    it('changes the baud rate, and reports that a pty has no DTR/RTS', async () => {
      pair = await makePtyPair();
      const port = await openPort(pair.a);
      await port.control!.setBaudRate(921600);
      await expect(port.control!.setSignals({ dtr: false, rts: true })).rejects.toBeInstanceOf(LineControlUnsupportedError);
      await port.close();
    });
  });
});

describe('line control on a raw-TCP serial device server', () => {
  it('refuses both, naming what to do instead', async () => {
    const server = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port: tcpPort } = server.address() as net.AddressInfo;
    const port = await openPort(`tcp://127.0.0.1:${tcpPort}`);
    const signals = await port.control!.setSignals({ rts: true }).catch((e: unknown) => e);
    expect(signals).toBeInstanceOf(LineControlUnsupportedError);
    expect((signals as LineControlUnsupportedError).hint).toMatch(/hold BOOT/);
    await expect(port.control!.setBaudRate(921600)).rejects.toMatchObject({ code: 'LINE_CONTROL_UNSUPPORTED' });
    await port.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe('line control on an in-memory pair', () => {
  it('records each call with the full line state, and the far end sees it after the bytes sent before it', async () => {
    const [station, device] = createMemoryPortPair('sim://esp');
    const seen: Array<string | LineControlEvent['type']> = [];
    device.onData((chunk) => seen.push(chunk.toString()));
    device.onPeerControl((event) => seen.push(event.type));
    await station.write(Buffer.from('before'));
    await station.control.setSignals({ dtr: false, rts: true });
    await station.control.setSignals({ dtr: true });
    await station.control.setBaudRate(460800);
    await station.write(Buffer.from('after'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(station.controlCalls.map(({ atMs: _atMs, ...call }) => call)).toEqual([
      { type: 'signals', dtr: false, rts: true, brk: false },
      { type: 'signals', dtr: true, rts: true, brk: false },
      { type: 'baud', baudRate: 460800 },
    ]);
    expect(seen).toEqual(['before', 'signals', 'signals', 'baud', 'after']);
    await station.close();
    await expect(station.control.setSignals({ rts: false })).rejects.toMatchObject({ code: 'PORT_DISCONNECTED' });
  });
});
