import { readSync, writeSync } from 'node:fs';

export type ReadResult = { buffer: Buffer; bytesRead: number };

/** Reads go into 64 KiB pools; a pool with less than 1 KiB left is replaced. */
const POOL_BYTES = 64 * 1024;
const MIN_READ_BYTES = 1024;

/** bindings-cpp's poll flags (libuv's UV_READABLE and UV_WRITABLE). */
const READABLE = 0b01;
const WRITABLE = 0b10;

type PollListener = (error: Error | null) => void;

/**
 * What bindings-cpp's Linux and macOS ports hold: the descriptor (opened
 * non-blocking) and the poller (a libuv poll handle on it, on the event loop).
 * `poll(flags)` makes the handle watch exactly those events; the poller then
 * emits `readable` and `writable` (with an error when the poll failed, or a
 * `canceled` one when the port was closed).
 */
export interface UnixBindingPort {
  readonly isOpen: boolean;
  readonly fd: number | null;
  readonly poller: {
    poll(flags: number): void;
    on(event: 'readable' | 'writable', listener: PollListener): unknown;
  };
}

export function isUnixBindingPort(port: object): port is UnixBindingPort {
  const candidate = port as Partial<UnixBindingPort>;
  return typeof candidate.fd === 'number' && typeof candidate.poller?.poll === 'function' && typeof candidate.poller.on === 'function';
}

export function hungUp(): Error {
  return Object.assign(new Error('the device hung up (end of file on read)'), { disconnect: true });
}

function notOpen(): Error {
  // @serialport/stream stops reading quietly on a canceled read (the port was closed on purpose).
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

function canceled(error: Error | null): boolean {
  return (error as { canceled?: boolean } | null)?.canceled === true;
}

function wouldBlock(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR';
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

interface Reading {
  onData: (chunk: Buffer) => void;
  onFailure: (error: Error) => void;
  /** Chunks are slices of a pool that is never read into twice (listeners may keep them), as serialport's stream does. */
  pool: Buffer;
  used: number;
}

/**
 * The bytes of an open unix tty, straight on its descriptor: a read loop that
 * hands over every chunk, and writes kept in order. serialport's stream is
 * bypassed for the bytes (its Readable and Writable machinery cost as much
 * per transfer block as the rest of the path), not for opening, configuring,
 * modem lines or closing.
 *
 * The poll handle watches one set of events at a time, and bindings-cpp's
 * `once()` asks for one event only: a write waiting for room would stop the
 * reads, and reads waiting again would drop the write's wait (a windowed
 * transfer gets ACKs while its writes wait). So this class asks for both
 * itself, after every event: readable while it reads, writable while a write
 * waits for room.
 */
export class UnixTtyData {
  private readonly port: UnixBindingPort;
  private pending: Promise<void> | undefined;
  private reading: Reading | undefined;
  /** Writes waiting for room on the line; each is told once, then asks again if it must. */
  private roomWaiters: PollListener[] = [];
  /**
   * The poller was stopped (the port is closing): it is never asked to poll again. bindings-cpp
   * announces its stop and its destruction alike, and polling a destroyed poller crashes the process.
   */
  private stopped = false;

  constructor(port: UnixBindingPort) {
    this.port = port;
    port.poller.on('readable', (error) => this.readable(error));
    port.poller.on('writable', (error) => this.writable(error));
  }

  /**
   * Reads until the port is closed on purpose (quietly) or fails (`onFailure`: a hang-up, EIO, a vanished
   * device). The read runs in the poller's own callback, with no promise between the wake-up and the bytes:
   * a transfer's next block answers an ACK that much sooner.
   */
  start(onData: (chunk: Buffer) => void, onFailure: (error: Error) => void): void {
    this.reading = { onData, onFailure, pool: Buffer.allocUnsafe(POOL_BYTES), used: 0 };
    this.watch();
  }

  /**
   * Writes what the kernel takes at once, unless an earlier write is still
   * waiting for room (its bytes go first): the bytes written, 0 when none
   * could be. A transfer block nearly always goes whole, with no promise or
   * timer of its own. Throws what write(2) throws, but "try again".
   */
  writeNow(data: Buffer): number {
    if (this.pending) return 0;
    try {
      return writeSync(openDescriptor(this.port), data, 0, data.length);
    } catch (error) {
      if (wouldBlock(error)) return 0;
      throw error;
    }
  }

  /** Writes after any write still in progress, so two callers' bytes never interleave. */
  write(data: Buffer): Promise<void> {
    const run = () => this.writeAll(data);
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

  /** Points the poll handle at what is wanted now (nothing: it stops, rather than waking for events nobody reads). */
  private watch(): void {
    if (this.stopped || !this.port.isOpen) return;
    const flags = (this.reading ? READABLE : 0) | (this.roomWaiters.length > 0 ? WRITABLE : 0);
    this.port.poller.poll(flags);
  }

  private readable(pollError: Error | null): void {
    if (canceled(pollError)) this.stopped = true;
    const reading = this.reading;
    // Closed on purpose: the poller was stopped (canceled), or the port is no longer open.
    if (this.stopped || !this.port.isOpen) {
      this.reading = undefined;
      return;
    }
    if (!reading) return this.watch();
    if (reading.pool.length - reading.used < MIN_READ_BYTES) {
      reading.pool = Buffer.allocUnsafe(POOL_BYTES);
      reading.used = 0;
    }
    const outcome = readReady(this.port, pollError, reading.pool, reading.used, reading.pool.length - reading.used);
    if (outcome instanceof Error) {
      this.reading = undefined;
      this.watch();
      if (!canceled(outcome) && this.port.isOpen) reading.onFailure(outcome);
      return;
    }
    // Watch again first: a listener that throws must not stop the reads.
    this.watch();
    if (outcome === 'again') return;
    const chunk = reading.pool.subarray(reading.used, reading.used + outcome.bytesRead);
    reading.used += outcome.bytesRead;
    reading.onData(chunk);
  }

  private writable(pollError: Error | null): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    if (canceled(pollError)) this.stopped = true;
    for (const waiter of waiters) waiter(pollError);
    this.watch();
  }

  /**
   * Resolves once the line has room, or failed (a hang-up shows as POLLERR):
   * then with its error, for write(2) to explain. Rejects when the port was
   * closed on purpose (the poller was stopped).
   */
  private room(): Promise<Error | undefined> {
    if (this.stopped) return Promise.reject(notOpen());
    return new Promise((resolve, reject) => {
      this.roomWaiters.push((failed) => {
        if (!failed) resolve(undefined);
        else if (canceled(failed) || !this.port.isOpen) reject(failed);
        else resolve(failed);
      });
      this.watch();
    });
  }

  /**
   * Non-blocking write(2) calls on this thread for as much as the kernel
   * takes, waiting for room only when its buffer is full. Rejects when the
   * line fails (EIO after a hang-up).
   */
  private async writeAll(buffer: Buffer): Promise<void> {
    let offset = 0;
    let pollError: Error | undefined;
    while (offset < buffer.length) {
      try {
        offset += writeSync(openDescriptor(this.port), buffer, offset, buffer.length - offset);
      } catch (error) {
        if (!wouldBlock(error)) throw error;
        if (pollError) throw pollError;
        pollError = await this.room();
        continue;
      }
      pollError = undefined;
    }
  }
}
