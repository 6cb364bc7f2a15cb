import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { startFleetFreedomEmulator } from '../../../main/core/cloud/fleetfreedom/emulator.ts';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import type { StoredCredentials } from '../../../main/core/simulator/device-simulator.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { loadOrCreateKeyFile, SecretBox } from '../../../main/core/storage/secret-box.ts';

const SERIAL = 'THERM00000000000007';
const IMAGE_BYTES = 384 * 1024;

/** One backend's emulator, the line's cloud settings for it, and what the cloud says happened to the unit. */
interface Cloud {
  line: Record<string, unknown>;
  /** Calls that could have activated (or registered) the unit. */
  activationCalls(): number;
  /** The credentials the cloud says the unit must hold (undefined where the backend issues none). */
  expectedCredentials(): StoredCredentials | undefined;
  stop(): Promise<void>;
}

const clouds: Record<'gadgetkeeper' | 'exosite' | 'fleetfreedom', () => Promise<Cloud>> = {
  async gadgetkeeper() {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [SERIAL], versions: [{ name: '2.0.0', firmware: { size: IMAGE_BYTES } }] }] });
    const thing = () => emulator.state.thingsBySerial.get(SERIAL);
    return {
      line: { cloud: { backend: 'gadgetkeeper', url: emulator.url } },
      activationCalls: () => emulator.calls.get('activate') ?? 0,
      expectedCredentials: () => (thing() ? { thingId: thing()!.thingId, apiKey: thing()!.apiKey } : undefined),
      stop: () => emulator.stop(),
    };
  },
  async exosite() {
    const emulator = await startExositeEmulator({ models: [{ vendor: 'acme', model: 'therm', serialNumbers: [SERIAL], content: [{ id: 'fw-2.bin', firmware: { size: IMAGE_BYTES } }] }] });
    return {
      line: { cloud: { backend: 'exosite', url: emulator.url, vendor: 'acme', model: 'therm' } },
      activationCalls: () => emulator.calls.get('activate') ?? 0,
      expectedCredentials: () => {
        const cik = [...emulator.state.devicesByCik].find(([, device]) => device.serial === SERIAL)?.[0];
        return cik ? { thingId: SERIAL, apiKey: cik } : undefined;
      },
      stop: () => emulator.stop(),
    };
  },
  async fleetfreedom() {
    const emulator = await startFleetFreedomEmulator({ companies: [{ id: 7, name: 'F' }], users: [{ username: 'line', password: 'pw', companies: [7] }] }, { connectionDelayMs: 5 });
    const dir = mkdtempSync(join(tmpdir(), 'ff-fw-'));
    writeFileSync(join(dir, 'fw.bin'), Buffer.alloc(IMAGE_BYTES, 0x5a));
    return {
      line: {
        cloud: { backend: 'fleetfreedom', url: emulator.url, username: 'line', password: 'pw', company: 7, providerKind: 'json' },
        firmware: { source: 'file', path: join(dir, 'fw.bin'), versionId: 'fw-2' },
      },
      activationCalls: () => emulator.created,
      expectedCredentials: () => undefined,
      stop: () => emulator.stop(),
    };
  },
};

/** Unplug and plug in again: the unit power-cycles, keeping its image and what its memory holds. */
async function replug(sim: PtySimulator): Promise<PtySimulator> {
  const state = { serial: sim.simulator.serial, version: sim.simulator.version, credentials: sim.simulator.storedCredentials };
  await sim.stop();
  return startSimulatorOnPty({ ...state, bootDelayMs: 20 });
}

/** `station run --once --json`, killed with SIGKILL right after the first event line that `killOn` matches. */
function stationRun(args: string[], killOn?: RegExp): Promise<{ code: number | null; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/station.js', 'run', '--once', '--json', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let killed = false;
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (killOn && !killed && killOn.test(text)) killed = child.kill('SIGKILL');
    });
    child.once('exit', (code) => resolve({ code, killed }));
  });
}

async function latestRecord(dataDir: string) {
  const journal = Journal.open(join(dataDir, 'journal.sqlite'), new SecretBox(await loadOrCreateKeyFile(dataDir)));
  try {
    return journal.latestUnit(SERIAL);
  } finally {
    journal.close();
  }
}

describe.each(['gadgetkeeper', 'exosite', 'fleetfreedom'] as const)('%s: a unit the station already activated (or registered) is never activated again', (backend) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('killed between activation and delivery, then run again: the held credentials are delivered, no second activation', { timeout: 60_000 }, async () => {
    const cloud = await clouds[backend]();
    cleanup.push(() => cloud.stop());
    let sim = await startSimulatorOnPty({ serial: SERIAL, bootDelayMs: 20 });
    cleanup.push(() => sim.stop());
    const dir = mkdtempSync(join(tmpdir(), 'resume-'));
    const config = join(dir, 'line.json');
    writeFileSync(config, JSON.stringify(cloud.line));
    const dataDir = join(dir, 'data');

    const firstCloudStep = backend === 'fleetfreedom' ? 'register' : 'activate';
    const first = await stationRun(['--config', config, '--data-dir', dataDir, '--port', sim.path], new RegExp(`"step":"${firstCloudStep}","status":"done"`));
    expect(first.killed).toBe(true);
    expect(cloud.activationCalls()).toBe(1);
    // The crash landed where this test means it to: the station holds credentials it has not yet written to the unit.
    expect(await latestRecord(dataDir)).toMatchObject({ result: 'in-progress', credentialsState: backend === 'fleetfreedom' ? 'none' : 'held' });
    expect(sim.simulator.storedCredentials).toBeUndefined();

    sim = await replug(sim);
    const second = await stationRun(['--config', config, '--data-dir', dataDir, '--port', sim.path]);
    expect(second.code).toBe(0);
    expect(cloud.activationCalls()).toBe(1);
    expect(sim.simulator.storedCredentials).toEqual(cloud.expectedCredentials());
    expect(await latestRecord(dataDir)).toMatchObject({ result: 'passed' });
  });

  it('unplugged mid-flash and plugged in again: the held credentials are delivered, no second activation', { timeout: 60_000 }, async () => {
    const cloud = await clouds[backend]();
    cleanup.push(() => cloud.stop());
    let sim = await startSimulatorOnPty({ serial: SERIAL, bootDelayMs: 20, faults: { hangUpAfterBytes: 100 * 1024 } });
    cleanup.push(() => sim.stop());
    const station = await Station.open({ config: lineConfigSchema.parse(cloud.line), dataDir: mkdtempSync(join(tmpdir(), 'replug-')) });
    cleanup.push(() => station.close());

    const [unplugged] = await station.provisionOnce([sim.path]);
    expect(unplugged).toMatchObject({ result: 'failed', failedStep: 'flash', errorCode: 'PORT_DISCONNECTED' });
    expect(unplugged!.error).toContain('unplugged');
    expect(cloud.activationCalls()).toBe(1);

    sim = await replug(sim);
    const [replugged] = await station.provisionOnce([sim.path]);
    expect(replugged).toMatchObject({ result: 'passed' });
    expect(cloud.activationCalls()).toBe(1);
    expect(sim.simulator.storedCredentials).toEqual(cloud.expectedCredentials());
    if (backend !== 'fleetfreedom') {
      const activate = station.journal.stepEvents(replugged!.unitId!).find((event) => event.step === 'activate' && event.status !== 'started');
      expect(activate).toMatchObject({ status: 'skipped', detail: expect.stringContaining('already holds') });
    }
  });
});
