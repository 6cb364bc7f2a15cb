import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Occupies every thread of libuv's pool, as a burst of slow disk or DNS work
 * would: each thread opens a FIFO for reading, which blocks in the kernel
 * until someone opens it for writing. `release` lets those opens finish (once,
 * however often it is called); `dispose` removes the FIFOs.
 */
export async function occupyThreadPool(): Promise<{ release(): Promise<void>; dispose(): void }> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const dir = mkdtempSync(join(tmpdir(), 'pool-'));
  const fifos = Array.from({ length: threads }, (_, i) => join(dir, `fifo-${i}`));
  execFileSync('mkfifo', fifos);
  const blocked = fifos.map((fifo) => open(fifo, 'r'));
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // A non-blocking open for writing (on this thread, not the pool) succeeds once a reader is opening the FIFO.
      const writers = fifos.map((fifo) => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      for (const handle of await Promise.all(blocked)) await handle.close();
      writers.forEach((fd) => closeSync(fd));
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
