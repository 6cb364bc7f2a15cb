import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SERIAL_SETTINGS, type BytePort } from '../../main/core/ports/byte-port.ts';
import { openSerialPort } from '../../main/core/ports/serial-port.ts';
import { makePtyPair, type PtyPair } from '../helpers/pty-pair.ts';
import { occupyThreadPool } from '../helpers/thread-pool.ts';

describe('a serial port whose open finishes only after the station gave up on it', () => {
  let pair: PtyPair | undefined;
  const ports: BytePort[] = [];
  afterEach(async () => {
    for (const port of ports.splice(0)) await port.close();
    await pair?.dispose();
    pair = undefined;
  });

  it('is closed again when the open comes in late, so the next open of the port is not refused as in use', async () => {
    pair = await makePtyPair();
    const pool = await occupyThreadPool();
    try {
      await expect(openSerialPort(pair.a, { settings: DEFAULT_SERIAL_SETTINGS, openTimeoutMs: 300 })).rejects.toThrow(/open did not finish within 300 ms/);
    } finally {
      await pool.release();
      pool.dispose();
    }
    // The late open now runs and succeeds; it must not keep the port (and its lock) for nobody.
    await expect
      .poll(
        async () => {
          const port = await openSerialPort(pair!.a, { settings: DEFAULT_SERIAL_SETTINGS }).catch((error: Error) => error);
          if (port instanceof Error) return port.message;
          ports.push(port);
          return 'opened';
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe('opened');
  });
});
