import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { referenceProfile } from '../../main/core/devices/profile/load-profile.ts';
import { ProfileDriver } from '../../main/core/devices/profile-driver.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { startStation } from '../helpers/station-cli.ts';

/** Starts `station <args>` and resolves with what it prints after "listening on". */
async function startListening(args: string[]) {
  const child = spawn(process.execPath, ['bin/station.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  return { child, url };
}

describe('station sim device', () => {
  for (const mode of [['--tcp', '0'], []]) {
    it(`serves a simulated unit ${mode.length ? 'on TCP' : 'on a pty'} that the reference driver can identify`, async () => {
      const { child, url: where } = await startListening(['sim', 'device', '--serial', 'CLI0001', '--version', 'v7', ...mode]);
      try {
        const driver = new ProfileDriver(await openPort(where), referenceProfile);
        expect(await driver.identify()).toEqual({ serial: 'CLI0001' });
        expect(await driver.readVersion()).toBe('v7');
        await driver.close();
      } finally {
        child.kill('SIGINT');
      }
    });
  }

  it('exits 2 with a message naming the bad option', () => {
    const result = spawnSync(process.execPath, ['bin/station.js', 'sim', 'device', '--serial', 'bad serial!'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--serial: must be 1 to 64 of');
  });

  it('exits 2 for an unknown command', () => {
    const result = spawnSync(process.execPath, ['bin/station.js', 'fly'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown command "fly"');
  });
});

describe('station sim cloud', () => {
  const started = (args: string[]) => startListening(['sim', 'cloud', ...args]);

  it('serves the demo GadgetKeeper product and applies --fault', async () => {
    const { child, url } = await started(['gadgetkeeper', '--port', '0', '--fault', 'target-version:status:503']);
    try {
      const activation = await fetch(`${url}/v1/things/activate/THERM00000000000001.json`, { method: 'PUT' });
      expect(activation.status).toBe(200);
      const { thingId, apiKey } = (await activation.json()) as { thingId: string; apiKey: string };
      const target = await fetch(`${url}/v1/things/${thingId}/versions/target.json`, { headers: { 'X-ApiKey': apiKey } });
      expect(target.status).toBe(503);
    } finally {
      child.kill('SIGINT');
    }
  });

  it('serves the demo Exosite model: a demo unit activates and gets a CIK', async () => {
    const { child, url } = await started(['exosite']);
    try {
      const activation = await fetch(`${url}/provision/activate`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: 'vendor=acme&model=thermometer&sn=THERM00000000000001',
      });
      expect(activation.status).toBe(200);
      expect(await activation.text()).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      child.kill('SIGINT');
    }
  });

  it('serves the demo Fleet Freedom account: the demo user logs in over its WebSocket', async () => {
    const { child, url } = await started(['fleetfreedom']);
    const socket = new WebSocket(url);
    try {
      // Frames are "name {json}"; the server speaks first.
      const frames: string[] = [];
      socket.on('message', (raw) => frames.push(raw.toString()));
      const next = async (name: string) => {
        await expect.poll(() => frames.some((frame) => frame.startsWith(`${name} `))).toBe(true);
        return JSON.parse(frames.find((frame) => frame.startsWith(`${name} `))!.slice(name.length + 1)) as Record<string, unknown>;
      };
      await next('connectionResponse');
      socket.send(`login ${JSON.stringify({ username: 'demo', password: 'demo-password', userAgent: 'cli-sim test', reqId: 1 })}`);
      expect(await next('loginResponse')).toMatchObject({ reqId: 1, errorCode: 0, ghostId: expect.any(String) });
    } finally {
      socket.close();
      child.kill('SIGINT');
    }
  });

  it('exits 2 for a bad fault or a bad seed, naming the problem', () => {
    const fault = spawnSync(process.execPath, ['bin/station.js', 'sim', 'cloud', 'exosite', '--fault', 'list:explode'], { encoding: 'utf8' });
    expect(fault.status).toBe(2);
    expect(fault.stderr).toContain('unknown kind "explode"');
    const seed = spawnSync(process.execPath, ['bin/station.js', 'sim', 'cloud', 'gadgetkeeper', '--seed', 'package.json'], { encoding: 'utf8' });
    expect(seed.status).toBe(2);
    expect(seed.stderr).toMatch(/GadgetKeeper emulator seed is invalid: .*products/);
  });
});

describe('station demo', () => {
  it('provisions a simulated line end to end and exits 0', async () => {
    const result = spawnSync(process.execPath, ['bin/station.js', 'demo', '--ports', '3'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('3 simulated unit(s) on ptys');
    expect(result.stderr).not.toMatch(/in memory/);
    expect(result.stdout).toMatch(/3 passed, 0 failed in [\d.]+ s \(\d+ units per hour\)/);
  });

  it('--json: the first line says where the units are, and a fallback to memory (no socat on PATH) is said, never silent', () => {
    const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, ['bin/station.js', 'demo', '--ports', '1', '--json'], { encoding: 'utf8', timeout: 60_000, env });
    const first = (stdout: string) => JSON.parse(stdout.split('\n')[0]!) as { type: string; onPty: boolean; memoryFallbackReason: string | null };

    const onPty = run(process.env);
    expect(onPty.status).toBe(0);
    expect(first(onPty.stdout)).toMatchObject({ type: 'demo-line', onPty: true, memoryFallbackReason: null });

    const inMemory = run({ ...process.env, PATH: mkdtempSync(join(tmpdir(), 'no-socat-')) });
    expect(inMemory.status).toBe(0);
    expect(first(inMemory.stdout)).toMatchObject({ type: 'demo-line', onPty: false, memoryFallbackReason: expect.stringMatching(/socat/) });
    expect(inMemory.stderr).toMatch(/the simulated units run in memory, not on ptys through the serial code \(.*socat/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} mid-run cancels the units at work and takes the simulated line down: no socat left running, no temporary folder left`, { timeout: 60_000 }, async () => {
      // Its own temporary folder: the demo's data folder and every pty's links go in it, so what is left is seen.
      const tmp = mkdtempSync(join(tmpdir(), 'demo-signal-'));
      let signalled = false;
      const demo = startStation(['demo', '--ports', '2', '--json'], (line, _write) => {
        if (!signalled && (JSON.parse(line) as { type: string }).type === 'progress') {
          signalled = true;
          demo.child.kill(signal);
        }
      }, { TMPDIR: tmp });
      try {
        const result = await demo.endsWithin(30_000);
        expect(signalled).toBe(true);
        expect(result.code, result.stderr).toBe(1);
        const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; errorCode?: string });
        expect(events.filter((event) => event.type === 'unit').map((unit) => unit.errorCode)).toContain('CANCELLED');
        expect(readdirSync(tmp)).toEqual([]);
      } finally {
        killSocatsUnder(tmp);
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
});

/** A socat the demo left behind (the failure this test looks for) is ended, found by the unique folder in its arguments. */
function killSocatsUnder(folder: string): void {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(folder)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}
