import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PortOpenError } from '../../main/core/errors.ts';
import { openPort } from '../../main/core/ports/open-port.ts';

/**
 * A serial device server that never completes a connection: a listening
 * socket nobody accepts on, with a backlog of one that a first connection
 * fills. Linux then drops every further SYN, so a connect hangs as one to a
 * powered-off server behind a switch does (the kernel would retry for about
 * two minutes). Node accepts every connection by itself, so Python holds the
 * socket.
 */
async function unansweringServer(): Promise<{ port: number; stop(): void }> {
  const holder: ChildProcess = spawn('python3', ['-c', 'import socket, time\ns = socket.socket()\ns.bind(("127.0.0.1", 0))\ns.listen(0)\nprint(s.getsockname()[1], flush=True)\ntime.sleep(120)'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    holder.stdout!.once('data', (data) => resolve(Number(String(data).trim())));
    holder.once('exit', (code) => reject(new Error(`python3 exited (${code}) before listening`)));
  });
  const filler = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    filler.once('connect', resolve);
    filler.once('error', reject);
  });
  return {
    port,
    stop: () => {
      filler.destroy();
      holder.kill('SIGKILL');
    },
  };
}

describe('a raw-TCP port whose serial device server never completes the connection', () => {
  const stops: Array<() => void> = [];
  afterEach(() => stops.splice(0).forEach((stop) => stop()));

  it('fails to open within its open timeout, naming the port and what to check', async () => {
    const server = await unansweringServer();
    stops.push(server.stop);
    const path = `tcp://127.0.0.1:${server.port}`;
    const started = performance.now();
    let guard: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      openPort(path, { openTimeoutMs: 500 }).then(
        (port) => port.close().then(() => 'opened'),
        (error: unknown) => error,
      ),
      // Twenty times the timeout: without it the kernel's SYN retries would keep the open waiting for minutes.
      new Promise((resolve) => (guard = setTimeout(() => resolve('still waiting after 10 s'), 10_000))),
    ]);
    clearTimeout(guard);
    expect(outcome).toBeInstanceOf(PortOpenError);
    expect(outcome).toMatchObject({ message: expect.stringContaining('no connection within 500 ms'), where: { port: path }, hint: expect.stringContaining('address, port and power') });
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
