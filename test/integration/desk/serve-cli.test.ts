import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { rawWebSocket, residentMiB } from '../../helpers/raw-websocket.ts';
import { startStationServe } from '../../helpers/station-serve.ts';

/** Starts `station serve` and reports how it ended: its exit code and output, or "served" if it printed an address instead. */
function serveOutcome(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ outcome: number | 'served' | null; output: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'serve-cli-'));
  const child = spawn(process.execPath, [resolve('bin/station.js'), 'serve', '--port', '0', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STATION_TOKEN: undefined, ...env } });
  let output = '';
  return new Promise((done) => {
    const finish = (outcome: number | 'served' | null) => {
      rmSync(dataDir, { recursive: true, force: true });
      done({ outcome, output });
    };
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Provisioning Station on/.test(output)) {
        child.removeAllListeners('exit');
        child.once('exit', () => finish('served'));
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => finish(code));
  });
}

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const wsUrl = (url: string, token?: string) => `${new URL(url).origin.replace('http', 'ws')}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;

describe('station serve: access tokens', () => {
  it('makes a new token on every start and prints it in the address; a WebSocket without it is refused, on loopback too', async () => {
    const first = await startStationServe([]);
    const second = await startStationServe([]);
    try {
      expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(second.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(first.token).not.toBe(second.token);
      await expect(connect(wsUrl(first.url))).rejects.toThrow(/401/);
      await expect(connect(wsUrl(first.url, second.token))).rejects.toThrow(/401/);
      const ws = await connect(wsUrl(first.url, first.token));
      ws.close();
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it('refuses --token on the command line (every user can read it with ps), and says what to use', async () => {
    const result = await serveOutcome(['--token', 'a-long-enough-token-0123456789']);
    expect(result.outcome).toBe(2);
    expect(result.output).toMatch(/--token is not accepted: .*\(ps\).*STATION_TOKEN.*--token-file/);
  });

  it('refuses a label printer it cannot read, and demo label options beside a line configuration', async () => {
    expect(await serveOutcome(['--label-printer', '10.0.0.9'])).toMatchObject({ outcome: 2, output: expect.stringMatching(/--label-printer 10\.0\.0\.9: write tcp:\/\/HOST:PORT or cups:QUEUE/) });
    expect(await serveOutcome(['--label-check', '--config', 'line.json'])).toMatchObject({ outcome: 2, output: expect.stringMatching(/are for the demo line; a line configuration has its own "labels"/) });
  });

  it('refuses a token under 16 characters from STATION_TOKEN or a token file, and a token file others can read', async () => {
    const short = await serveOutcome([], { STATION_TOKEN: 'short' });
    expect(short.outcome).toBe(2);
    expect(short.output).toMatch(/STATION_TOKEN is 5 characters long; it needs at least 16/);
    const dir = mkdtempSync(join(tmpdir(), 'token-'));
    try {
      writeFileSync(join(dir, 'short'), 'tiny\n', { mode: 0o600 });
      expect(await serveOutcome(['--token-file', join(dir, 'short')])).toMatchObject({ outcome: 2, output: expect.stringMatching(/is 4 characters long/) });
      writeFileSync(join(dir, 'open'), 'a-long-enough-token-0123456789\n', { mode: 0o644 });
      expect(await serveOutcome(['--token-file', join(dir, 'open')])).toMatchObject({ outcome: 2, output: expect.stringMatching(/can be read by other users \(mode 644\).*chmod 600/s) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the token from a token file, and does not print it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'token-'));
    const token = 'a-long-enough-token-0123456789';
    writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    const station = await startStationServe(['--token-file', join(dir, 'token')]);
    try {
      expect(station.output()).toContain('#token=<your token>');
      expect(station.output()).not.toContain(token);
      await expect(connect(wsUrl(station.url))).rejects.toThrow(/401/);
      (await connect(wsUrl(station.url, token))).close();
    } finally {
      await station.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('station serve: a flooding client', () => {
  it('is disconnected, and the server stays near the memory it started with', { timeout: 180_000 }, async () => {
    const station = await startStationServe(['--demo', '--ports', '4']);
    try {
      const port = Number(new URL(station.url).port);
      // A resting line first: the demo's four units done, so what is measured is the flood.
      const watcher = await connect(wsUrl(station.url, station.token));
      let settled = false;
      watcher.on('message', (data) => {
        const message = JSON.parse(String(data)) as { kind: string; answer?: { value?: { tiles?: Array<{ state: string }> } } };
        const tiles = message.answer?.value?.tiles;
        settled ||= tiles?.length === 4 && tiles.every((tile) => ['passed', 'failed', 'attention'].includes(tile.state));
      });
      await expect
        .poll(
          () => {
            watcher.send(JSON.stringify({ id: 1, method: 'snapshot', params: [] }));
            return settled;
          },
          { timeout: 90_000, interval: 500 },
        )
        .toBe(true);
      watcher.close();
      const before = residentMiB(station.pid);

      const flood = await rawWebSocket(port, `/ws?token=${station.token}`, { Host: `127.0.0.1:${port}` });
      expect(flood.response).toMatch(/^HTTP\/1.1 101/);
      const floodStart = Date.now();
      for (let id = 1; id <= 100_000; id++) flood.sendText(JSON.stringify({ id, method: 'snapshot', params: [] }));
      const stop = flood.keepWriting('{}', 200);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, residentMiB(station.pid))), 50);
      const outcome = await Promise.race([flood.closed.then(() => 'closed by the server'), new Promise((done) => setTimeout(() => done('still open after 60 s'), 60_000))]);
      const floodMs = Date.now() - floodStart;
      stop();
      flood.socket.destroy();
      // What the server does with the calls it had already read shows in the next moments: keep sampling for two seconds.
      await new Promise((done) => setTimeout(done, 2000));
      clearInterval(sampler);
      const after = residentMiB(station.pid);
      peak = Math.max(peak, after);
      console.log(`station serve RSS: ${before.toFixed(0)} MiB before the flood, peak ${peak.toFixed(0)} MiB, ${after.toFixed(0)} MiB 2 s after; the flooding client was ${outcome} (${floodMs} ms)`);
      expect(outcome).toBe('closed by the server');
      expect(peak - before).toBeLessThan(100);
      expect(after - before).toBeLessThan(60);
      // And the station still serves.
      (await connect(wsUrl(station.url, station.token))).close();
    } finally {
      await station.stop();
    }
  });
});
