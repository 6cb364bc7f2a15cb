import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/emulators/gadgetkeeper-emulator.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { loadOrCreateKeyFile, SecretBox } from '../../../main/core/storage/secret-box.ts';

const TRIALS = 20;
const UNITS_PER_TRIAL = 2;
const serial = (trial: number, unit: number) => `CRASH${String(trial).padStart(3, '0')}U${unit}`;

/**
 * Runs `station run`; with killAfterEvents, SIGKILLs it right after that many
 * JSON event lines, so the crash lands at a random point inside the pipeline
 * (between any two steps, or mid-transfer) rather than before or after it.
 */
function runStation(args: string[], killAfterEvents?: number): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/station.js', 'run', '--json', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let lines = 0;
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      lines += chunk.toString().split('\n').length - 1;
      if (killAfterEvents !== undefined && !killed && lines >= killAfterEvents) killed = child.kill('SIGKILL');
    });
    child.once('exit', (code) => resolve({ killed: killed && code === null, code }));
  });
}

async function withJournal<T>(dataDir: string, read: (journal: Journal) => T): Promise<T> {
  const journal = Journal.open(join(dataDir, 'journal.sqlite'), new SecretBox(await loadOrCreateKeyFile(dataDir)));
  try {
    return read(journal);
  } finally {
    journal.close();
  }
}

/** Unplug and plug in again: the unit power-cycles, keeping its image and its stored credentials. */
async function replug(sim: PtySimulator): Promise<PtySimulator> {
  const state = { serial: sim.simulator.serial, version: sim.simulator.version, credentials: sim.simulator.storedCredentials };
  await sim.stop();
  return startSimulatorOnPty({ ...state, bootDelayMs: 20 });
}

describe('crash consistency: kill -9 at random moments of a batch', () => {
  let emulator: GadgetKeeperEmulator;
  let config: string;
  beforeAll(async () => {
    const serials = Array.from({ length: TRIALS }, (_, t) => Array.from({ length: UNITS_PER_TRIAL }, (_, u) => serial(t, u))).flat();
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'Crash', serialNumbers: serials, versions: [{ name: '9.9.9', firmware: { size: 96 * 1024 } }] }] });
    config = join(mkdtempSync(join(tmpdir(), 'crash-')), 'line.json');
    writeFileSync(config, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, thingNameTemplate: 'Unit-{serial}' }));
  });
  afterAll(() => emulator.stop());

  it(`${TRIALS} trials: after restart every unit is consistent, with no duplicate or lost records`, { timeout: 240_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crash-data-'));
    const killedAt: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      let sims = await Promise.all(Array.from({ length: UNITS_PER_TRIAL }, (_, u) => startSimulatorOnPty({ serial: serial(trial, u), bootDelayMs: 20 })));
      try {
        // Two units emit ~50 lines (steps, throttled progress, results): kill anywhere in them.
        const killAfter = 1 + Math.floor(Math.random() * 45);
        const first = await runStation(['--config', config, '--once', '--data-dir', dataDir, ...sims.flatMap((sim) => ['--port', sim.path])], killAfter);
        if (first.killed) killedAt.push(killAfter);

        // The technician replugs the units and runs again those the station does not record as passed.
        sims = await Promise.all(sims.map(replug));
        const redo = await withJournal(dataDir, (journal) => sims.filter((sim) => journal.latestUnit(sim.simulator.serial)?.result !== 'passed'));
        if (redo.length > 0) {
          const second = await runStation(['--config', config, '--once', '--data-dir', dataDir, ...redo.flatMap((sim) => ['--port', sim.path])]);
          expect(second.code, `trial ${trial}: the run after the crash failed`).toBe(0);
        }

        await withJournal(dataDir, (journal) => {
          for (const sim of sims) {
            const id = sim.simulator.serial;
            const thing = emulator.state.thingsBySerial.get(id)!;
            const records = journal.units({ serial: id });
            expect(records, `trial ${trial} ${id}: exactly one record`).toHaveLength(1);
            expect(records[0]!.result, `trial ${trial} ${id}`).toBe('passed');
            // The cloud's current version is what the unit runs.
            expect(thing.currentVersionId, `trial ${trial} ${id}: cloud version`).toBe(sim.simulator.version);
            // The key in the unit is the newest key the cloud issued for it.
            expect(sim.simulator.storedCredentials, `trial ${trial} ${id}: newest key`).toEqual({ thingId: thing.thingId, apiKey: thing.issuedKeys.at(-1) });
            expect(thing.name).toBe(`Unit-${id}`);
          }
          expect(journal.unitsInProgress(), `trial ${trial}: nothing left in progress`).toHaveLength(0);
          expect(journal.outboxCounts().pending).toBe(0);
        });
      } finally {
        await Promise.all(sims.map((sim) => sim.stop()));
      }
    }
    // Most trials must really have been killed mid-run, or the test proves little.
    expect(killedAt.length).toBeGreaterThanOrEqual(TRIALS * 0.75);
  });
});
