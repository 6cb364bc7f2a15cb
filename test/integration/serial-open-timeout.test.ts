import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SERIAL_SETTINGS, type BytePort } from '../../main/core/ports/byte-port.ts';
import { openSerialPort } from '../../main/core/ports/serial-port.ts';
import { makePtyPair, type PtyPair } from '../helpers/pty-pair.ts';

/**
 * Occupies every thread of libuv's pool with an open(2) of a FIFO that has no
 * writer (each blocks in the kernel until one comes), as a burst of slow disk
 * or DNS work would: an open of a serial port, which bindings-cpp does on that
 * pool, then waits its turn. `release` lets the FIFOs' opens finish.
 */
function occupyThreadPool(): { release(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'pool-'));
  const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos = Array.from({ length: size }, (_, index) => join(dir, `fifo-${index}`));
  execFileSync('mkfifo', fifos);
  const blocked: Promise<FileHandle>[] = fifos.map((fifo) => open(fifo, 'r'));
  return {
    async release() {
      // A writer opened without blocking (on this thread, not the pool) lets each reader's open(2) return.
      const writers = fifos.map((fifo) => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      for (const handle of await Promise.all(blocked)) await handle.close();
      writers.forEach((fd) => closeSync(fd));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

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
    const pool = occupyThreadPool();
    try {
      await expect(openSerialPort(pair.a, { settings: DEFAULT_SERIAL_SETTINGS, openTimeoutMs: 300 })).rejects.toThrow(/open did not finish within 300 ms/);
    } finally {
      await pool.release();
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
