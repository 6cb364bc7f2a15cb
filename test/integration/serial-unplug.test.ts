import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PortDisconnectedError } from '../../main/core/errors.ts';
import { DEFAULT_SERIAL_SETTINGS, type BytePort } from '../../main/core/ports/byte-port.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { openSerialPort } from '../../main/core/ports/serial-port.ts';
import { describeCpu, expectIdle, measureCpuOver, measureUntilClosed } from '../helpers/cpu.ts';
import { makePtyPair, type PtyPair } from '../helpers/pty-pair.ts';

const sleep = (ms: number) => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms));

describe('unplug detection on a real pty (socat killed = cable yanked)', () => {
  let pair: PtyPair | undefined;
  let port: BytePort | undefined;
  afterEach(async () => {
    await port?.close();
    await pair?.dispose();
    port = undefined;
    pair = undefined;
  });

  async function open() {
    pair = await makePtyPair();
    port = await openPort(pair.a);
    return { pair, port };
  }

  it('while idle: little CPU while open, while hung up but not yet noticed, and after; disconnected within 1 s', async () => {
    const { pair, port } = await open();
    // Open and waiting for a line, as a driver waits for a unit's answer.
    const read = new PortReader(port).readLine({ timeoutMs: 30_000, maxLength: 256 }).catch((e: unknown) => e);
    expectIdle(await measureCpuOver(1000), 'open and idle');

    pair.kill();
    const hangUp = await measureUntilClosed(port, 2000);
    expect(hangUp.value, `the hang-up was not noticed within 2 s (${describeCpu(hangUp)})`).toMatchObject({ kind: 'disconnected' });
    expect(hangUp.wallMs).toBeLessThan(1000);
    expectIdle(hangUp, 'hung up, not yet noticed');
    expect(port.isOpen).toBe(false);
    expect(await read).toBeInstanceOf(PortDisconnectedError);

    expectIdle(await measureCpuOver(1000), 'after the disconnect');
  });

  it('while reading: the pending read fails within 1 s with a disconnect error', async () => {
    const { pair, port } = await open();
    const reader = new PortReader(port);
    const read = reader.readLine({ timeoutMs: 10_000, maxLength: 256 }).catch((e: unknown) => e);
    const unpluggedAt = performance.now();
    pair.kill();
    const error = await read;
    expect(performance.now() - unpluggedAt).toBeLessThan(1000);
    expect(error).toBeInstanceOf(PortDisconnectedError);
    expectIdle(await measureCpuOver(1000), 'after the disconnect');
  });

  it('while writing to a device that stopped reading: the write fails within 1 s', async () => {
    const { pair, port } = await open();
    // Nobody reads the far end, so a large write blocks in the kernel.
    const write = port.write(Buffer.alloc(4 << 20), { timeoutMs: 60_000 }).catch((e: unknown) => e);
    await sleep(200);
    const unpluggedAt = performance.now();
    pair.kill();
    const error = await write;
    expect(performance.now() - unpluggedAt).toBeLessThan(1000);
    expect(error).toBeInstanceOf(PortDisconnectedError);
    // A later write fails at once instead of waiting.
    await expect(port.write(Buffer.from('PING\n'))).rejects.toBeInstanceOf(PortDisconnectedError);
  });

  it('a replug (the port\'s name now leads to another device) is noticed as the unit gone', async () => {
    const first = (pair = await makePtyPair());
    const second = await makePtyPair();
    const dir = mkdtempSync(join(tmpdir(), 'replug-'));
    const name = join(dir, 'ttyUSB0');
    symlinkSync(realpathSync(first.a), name);
    port = await openPort(name);
    try {
      // As udev does on a replug: the same name, now for another device (moved into place at once).
      symlinkSync(realpathSync(second.a), join(dir, 'next'));
      renameSync(join(dir, 'next'), name);
      const hangUp = await measureUntilClosed(port, 3000);
      expect(hangUp.value).toMatchObject({ kind: 'disconnected', error: { message: expect.stringContaining('another one took its place') } });
    } finally {
      await second.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a write that cannot finish times out instead of waiting forever', async () => {
    const { port } = await open();
    const started = performance.now();
    const error = await port.write(Buffer.alloc(4 << 20), { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect((await port.closed).kind).toBe('disconnected');
  });
});

/** A unit that prints log lines as fast as the line takes them, behind a pty, until its line is cut. */
async function startChattyUnit(): Promise<{ path: string; hangUp(): void; dispose(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'chatty-'));
  const path = join(dir, 'tty');
  const socat = spawn('socat', [`pty,raw,echo=0,link=${path}`, 'SYSTEM:exec yes LOG unit still talking'], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  while (!existsSync(path)) {
    if (Date.now() > deadline || socat.exitCode !== null) throw new Error('socat did not start the unit');
    await sleep(10);
  }
  return {
    path,
    hangUp: () => socat.kill('SIGKILL'),
    dispose: () => {
      socat.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('a line hung up while the unit is still sending (serialport/bindings-cpp#162)', () => {
  // After a hang-up a tty read returns 0 bytes (end of file). bindings-cpp 13
  // retries such a read at once, forever: a full core spun and the port never
  // reported closed. On a pty that happens when the hang-up lands between two
  // reads of a busy line, so the test repeats until several hang-ups went
  // that way. The device-node watcher is switched
  // off: a UART whose carrier drops keeps its node, so the read path alone
  // must notice.
  it('every hang-up is noticed within 1 s from the read itself, without spinning, on the end-of-file path too', { timeout: 60_000 }, async () => {
    const paths: string[] = [];
    for (let trial = 0; trial < 20 && paths.filter((p) => p === 'end of file').length < 3; trial++) {
      const unit = await startChattyUnit();
      const port = await openSerialPort(unit.path, { settings: DEFAULT_SERIAL_SETTINGS, watchIntervalMs: 3_600_000 });
      try {
        let received = 0;
        port.onData((chunk) => (received += chunk.length));
        while (received < 256 * 1024) await sleep(5);

        unit.hangUp();
        // The station is busy as the line hangs up (a checksum, a JSON parse): its next read
        // then lands on the hung-up tty rather than on the poller, the path of #162
        // (most trials here; without the pause about one in six).
        const busyUntil = performance.now() + 200;
        while (performance.now() < busyUntil);
        const hangUp = await measureUntilClosed(port, 3000);
        expect(hangUp.value, `trial ${trial}: the hang-up was not noticed within 3 s (${describeCpu(hangUp)})`).toMatchObject({ kind: 'disconnected' });
        expect(hangUp.wallMs, `trial ${trial}`).toBeLessThan(1000);
        expectIdle(hangUp, `trial ${trial}: hung up, not yet noticed`);
        // A second, not 300 ms: a collection of the chatter just received took 16-19 ms here on a busy machine
        // (with the old port path too), over the 15 ms a short window allows; a spin takes 140 ms or more of it.
        expectIdle(await measureCpuOver(1000), `trial ${trial}: after the disconnect`);
        const message = hangUp.value?.kind === 'disconnected' ? hangUp.value.error.message : '';
        paths.push(/end of file/.test(message) ? 'end of file' : message);
      } finally {
        await port.close();
        unit.dispose();
      }
    }
    // Without an end-of-file hang-up the trials would prove nothing about #162.
    expect(paths, 'no trial hung up between two reads (how each hang-up was reported)').toContain('end of file');
  });
});
