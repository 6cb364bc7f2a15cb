import { readSync, writeSync } from 'node:fs';

export type ReadResult = { buffer: Buffer; bytesRead: number };

/** Reads go into 64 KiB pools; a pool with less than 1 KiB left is replaced. */
const POOL_BYTES = 64 * 1024;
const MIN_READ_BYTES = 1024;

/**
 * What bindings-cpp's Linux and macOS ports hold: the descriptor (opened
 * non-blocking) and the poller (a libuv poll handle on it, on the event loop).
 */
export interface UnixBindingPort {
  readonly isOpen: boolean;
  readonly fd: number | null;
  readonly poller: { once(event: 'readable' | 'writable', callback: (error: Error | null) => void): unknown };
}

export function isUnixBindingPort(port: object): port is UnixBindingPort {
  const candidate = port as Partial<UnixBindingPort>;
  return typeof candidate.fd === 'number' && typeof candidate.poller?.once === 'function';
}

export function hungUp(): Error {
  return Object.assign(new Error('the device hung up (end of file on read)'), { disconnect: true });
}

function notOpen(): Error {
  // @serialport/stream stops reading quietly on a canceled read (the port was closed on purpose).
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

function wouldBlock(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR';
}

/**
 * Resolves once the poller says the descriptor is ready, or failed (a hang-up
 * shows as POLLERR): then with its error, for read(2) or write(2) to explain.
 * Rejects when the port was closed on purpose (the poller was stopped).
 */
function ready(port: UnixBindingPort, event: 'readable' | 'writable'): Promise<Error | undefined> {
  return new Promise((resolve, reject) =>
    port.poller.once(event, (failed) => {
      if (!failed) resolve(undefined);
      else if ((failed as { canceled?: boolean }).canceled === true || !port.isOpen) reject(failed);
      else resolve(failed);
    }),
  );
}

function openDescriptor(port: UnixBindingPort): number {
  if (!port.isOpen || port.fd === null) throw notOpen();
  return port.fd;
}

/**
 * What one read(2) on a ready descriptor gave: bytes, nothing yet (woken
 * without data: wait again), or the end of the line.
 */
type ReadOutcome = { bytesRead: number } | 'again' | Error;

/**
 * One non-blocking read(2) on this thread, once the poller said the
 * descriptor is ready (or failed: POLLERR, for which libuv says only "bad
 * file descriptor", so read(2) is asked what happened and a hang-up is
 * reported as one). bindings-cpp's own read goes through the thread pool for
 * every chunk (a hop there and back per transfer block), and calls read(2)
 * again at once when it returns 0 bytes, which after a hang-up it does
 * forever: a core spun and the port never closed (serialport/bindings-cpp#162,
 * fixed the same way in the unmerged #164). Here 0 bytes is end of file: the
 * device hung up.
 */
function readReady(port: UnixBindingPort, pollError: Error | null, buffer: Buffer, offset: number, length: number): ReadOutcome {
  let bytesRead: number;
  try {
    bytesRead = readSync(openDescriptor(port), buffer, offset, length, null);
  } catch (error) {
    if (!wouldBlock(error)) return error as Error;
    // Woken without data (a signal, a spurious wake-up): wait again.
    return pollError ?? 'again';
  }
  return bytesRead === 0 ? hungUp() : { bytesRead };
}

/**
 * Writes to a unix tty on the event loop: non-blocking write(2) calls on this
 * thread for as much as the kernel takes, waiting for the poller only when
 * its buffer is full. Rejects when the line fails (EIO after a hang-up).
 */
export async function writeOnEventLoop(port: UnixBindingPort, buffer: Buffer): Promise<void> {
  let offset = 0;
  let pollError: Error | undefined;
  while (offset < buffer.length) {
    try {
      offset += writeSync(openDescriptor(port), buffer, offset, buffer.length - offset);
    } catch (error) {
      if (!wouldBlock(error)) throw error;
      if (pollError) throw pollError;
      pollError = await ready(port, 'writable');
      continue;
    }
    pollError = undefined;
  }
}

/**
 * The bytes of an open unix tty, straight on its descriptor: a read loop that
 * hands over every chunk, and writes kept in order. serialport's stream is
 * bypassed for the bytes (its Readable and Writable machinery cost as much
 * per transfer block as the rest of the path), not for opening, configuring,
 * modem lines or closing.
 */
export class UnixTtyData {
  private readonly port: UnixBindingPort;
  private pending: Promise<void> | undefined;

  constructor(port: UnixBindingPort) {
    this.port = port;
  }

  /**
   * Reads until the port is closed on purpose (quietly) or fails (`onFailure`: a hang-up, EIO, a vanished
   * device). The read runs in the poller's own callback, with no promise between the wake-up and the bytes:
   * a transfer's next block answers an ACK that much sooner.
   */
  start(onData: (chunk: Buffer) => void, onFailure: (error: Error) => void): void {
    // Chunks are slices of a pool that is never read into twice (listeners may keep them), as serialport's stream does.
    let pool = Buffer.allocUnsafe(POOL_BYTES);
    let used = 0;
    const fail = (error: Error) => {
      if ((error as { canceled?: boolean }).canceled !== true && this.port.isOpen) onFailure(error);
    };
    const waitForData = (): void => {
      if (!this.port.isOpen) return;
      this.port.poller.once('readable', (pollError) => {
        // Closed on purpose: the poller was stopped (canceled), or the port is no longer open.
        if ((pollError as { canceled?: boolean } | null)?.canceled === true || !this.port.isOpen) return;
        if (pool.length - used < MIN_READ_BYTES) {
          pool = Buffer.allocUnsafe(POOL_BYTES);
          used = 0;
        }
        const outcome = readReady(this.port, pollError, pool, used, pool.length - used);
        if (outcome === 'again') return waitForData();
        if (outcome instanceof Error) return fail(outcome);
        const chunk = pool.subarray(used, used + outcome.bytesRead);
        used += outcome.bytesRead;
        // Wait again first: a listener that throws must not stop the reads.
        waitForData();
        onData(chunk);
      });
    };
    waitForData();
  }

  /** Writes after any write still in progress, so two callers' bytes never interleave. */
  write(data: Buffer): Promise<void> {
    const run = () => writeOnEventLoop(this.port, data);
    const done = this.pending ? this.pending.then(run) : run();
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.pending = settled;
    void settled.then(() => {
      if (this.pending === settled) this.pending = undefined;
    });
    return done;
  }
}
