import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { BytePort } from '../../main/core/ports/byte-port.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { makePtyPair, type PtyPair } from '../helpers/pty-pair.ts';
import { occupyThreadPool } from '../helpers/thread-pool.ts';

const settledWithin = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe('a serial port reads and writes on the event loop, not through the thread pool', () => {
  let pair: PtyPair | undefined;
  const ports: BytePort[] = [];
  afterEach(async () => {
    for (const port of ports.splice(0)) await port.close();
    await pair?.dispose();
    pair = undefined;
  });

  // The thread pool is shared with file, DNS, zlib and crypto work (the journal's
  // backups, firmware hashing): serial bytes queued behind it would stall every port.
  it('moves bytes both ways while every thread of the pool is busy', async () => {
    pair = await makePtyPair();
    const station = await openPort(pair.a);
    const unit = await openPort(pair.b);
    ports.push(station, unit);
    const stationReader = new PortReader(station);
    const unitReader = new PortReader(unit);

    const pool = await occupyThreadPool();
    try {
      // The test proves nothing unless the pool really is full: a stat must wait.
      const probe = stat(tmpdir());
      expect(await settledWithin(probe, 300), 'the thread pool was not occupied').toBe(false);

      const roundTrip = (async () => {
        await station.write(Buffer.from('PING\n'));
        expect(await unitReader.readLine({ timeoutMs: 5000, maxLength: 16 })).toBe('PING');
        await unit.write(Buffer.from('PONG\n'));
        return stationReader.readLine({ timeoutMs: 5000, maxLength: 16 });
      })();
      expect(await settledWithin(roundTrip, 3000), 'the bytes waited for the thread pool').toBe(true);
      expect(await roundTrip).toBe('PONG');
      expect(await settledWithin(probe, 0), 'the pool was released before the round trip ended').toBe(false);

      await pool.release();
      await probe;
    } finally {
      await pool.release();
      pool.dispose();
    }
  });

  it('keeps concurrent writes whole and in order when the line cannot take them at once', async () => {
    pair = await makePtyPair();
    const station = await openPort(pair.a);
    const unit = await openPort(pair.b);
    ports.push(station, unit);
    // Far more than a pty holds: each write waits for the line several times.
    const first = Buffer.alloc(256 * 1024, 'A');
    const second = Buffer.alloc(256 * 1024, 'B');
    const received = new PortReader(unit).readBytes(first.length + second.length, { timeoutMs: 20_000 });
    await Promise.all([station.write(first, { timeoutMs: 20_000 }), station.write(second, { timeoutMs: 20_000 })]);
    expect((await received).equals(Buffer.concat([first, second]))).toBe(true);
  });
});

/**
 * A pty whose master end a Python process holds and works only when told:
 * `ack` writes "ACK\n" to the station, `drain N` reads N bytes and answers
 * "drained N". (socat would not do: it blocks writing the full direction and
 * stops carrying the other.)
 */
async function manualFarEnd(): Promise<{ path: string; ack(): void; drain(bytes: number): Promise<number>; stop(): void }> {
  const script = [
    'import os, pty, sys',
    'master, slave = pty.openpty()',
    'print(os.ttyname(slave), flush=True)',
    'for line in sys.stdin:',
    '    words = line.split()',
    '    if words[0] == "ack": os.write(master, b"ACK\\n")',
    '    elif words[0] == "drain":',
    '        want, got = int(words[1]), 0',
    '        while got < want: got += len(os.read(master, 65536))',
    '        print("drained", got, flush=True)',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
  const path = await next();
  return {
    path,
    ack: () => child.stdin!.write('ack\n'),
    async drain(bytes) {
      const answer = next();
      child.stdin!.write(`drain ${bytes}\n`);
      return Number((await answer).split(' ')[1]);
    },
    stop: () => child.kill('SIGKILL'),
  };
}

describe('a write waiting for room on the line while bytes arrive', () => {
  const ports: BytePort[] = [];
  afterEach(async () => {
    for (const port of ports.splice(0)) await port.close();
  });

  // bindings-cpp's poller watches one set of events at a time, and asking it for one event replaced the
  // other: a write waiting for room stopped the reads (a windowed transfer gets ACKs while it writes).
  it('reads what arrives meanwhile, and finishes once the far end makes room', async () => {
    const far = await manualFarEnd();
    try {
      const station = await openPort(far.path);
      ports.push(station);
      const reader = new PortReader(station);
      // Far more than a pty holds: the write has to wait for room.
      const data = Buffer.alloc(512 * 1024, 'D');
      let written = false;
      const write = station.write(data, { timeoutMs: 60_000 }).then(() => (written = true));
      await expect.poll(() => written, { timeout: 500, interval: 100 }).toBe(false);
      far.ack();
      expect(await reader.readLine({ timeoutMs: 5000, awaiting: 'the far end\'s ACK while a write waits', maxLength: 16 })).toBe('ACK');
      expect(written).toBe(false);
      expect(await far.drain(data.length)).toBe(data.length);
      expect(await settledWithin(write, 5000), 'the write never noticed the room the far end made').toBe(true);
    } finally {
      far.stop();
    }
  });
});
