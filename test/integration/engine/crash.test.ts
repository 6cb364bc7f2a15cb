import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { loadOrCreateKeyFile, SecretBox } from '../../../main/core/storage/secret-box.ts';

const UNITS_PER_TRIAL = 2;
const serial = (trial: number, unit: number) => `CRASH${String(trial).padStart(3, '0')}U${unit}`;
/** Enough serials for the calibration run and one trial per kill point (about 25). */
const MAX_TRIALS = 40;

/** One JSON line of `station run --json`, as far as this test reads it. */
interface EventLine {
  type: string;
  port: string;
  step?: string;
  status?: string;
}

/** What a kill point is: "right after this port printed an event of this kind" (step started/done, progress, unit record). */
const kindOf = (event: EventLine) => (event.type === 'step' ? `${event.step} ${event.status}` : event.type === 'progress' ? `${event.step} progress` : event.type);

interface StationRun {
  code: number | null;
  /** True when the station was killed before it exited by itself. */
  killed: boolean;
  /** The events printed before the kill (or all of them). */
  events: EventLine[];
}

/**
 * Runs `station run --json`; with killAt, SIGKILLs it as soon as the port
 * `killAt.port` prints an event of kind `killAt.kind`, so the crash lands
 * inside the step that event opens (or closes), wherever it is in the run.
 */
function runStation(args: string[], killAt?: { port: string; kind: string }): Promise<StationRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/station.js', 'run', '--json', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    const events: EventLine[] = [];
    let pending = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (killed) return;
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const event = JSON.parse(line) as EventLine;
        events.push(event);
        if (killAt && event.port === killAt.port && kindOf(event) === killAt.kind) {
          killed = child.kill('SIGKILL');
          return;
        }
      }
    });
    child.once('exit', (code) => resolve({ killed: killed && code === null, code, events }));
  });
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
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

describe('crash consistency: kill -9 at every kind of moment of a batch, in random order', () => {
  let emulator: GadgetKeeperEmulator;
  let config: string;
  beforeAll(async () => {
    const serials = Array.from({ length: MAX_TRIALS }, (_, t) => Array.from({ length: UNITS_PER_TRIAL }, (_, u) => serial(t, u))).flat();
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'Crash', serialNumbers: serials, versions: [{ name: '9.9.9', firmware: { size: 96 * 1024 } }] }] });
    config = join(mkdtempSync(join(tmpdir(), 'crash-')), 'line.json');
    writeFileSync(config, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, thingNameTemplate: 'Unit-{serial}' }));
  });
  afterAll(() => emulator.stop());

  /**
   * One batch of two units, killed at `killAt` (unit index and event kind) or
   * not at all; then the technician replugs the units and runs again those the
   * station does not record as passed, and every unit must be consistent.
   */
  async function trial(trialNo: number, dataDir: string, killAt?: { unit: number; kind: string }): Promise<StationRun> {
    let sims = await Promise.all(Array.from({ length: UNITS_PER_TRIAL }, (_, u) => startSimulatorOnPty({ serial: serial(trialNo, u), bootDelayMs: 20 })));
    try {
      const portArgs = (units: PtySimulator[]) => ['--config', config, '--once', '--data-dir', dataDir, ...units.flatMap((sim) => ['--port', sim.path])];
      const first = await runStation(portArgs(sims), killAt && { port: sims[killAt.unit]!.path, kind: killAt.kind });

      sims = await Promise.all(sims.map(replug));
      const redo = await withJournal(dataDir, (journal) => sims.filter((sim) => journal.latestUnit(sim.simulator.serial)?.result !== 'passed'));
      if (redo.length > 0) {
        const second = await runStation(portArgs(redo));
        expect(second.code, `trial ${trialNo}: the run after the crash failed`).toBe(0);
      }

      const where = `trial ${trialNo} (killed at unit ${killAt?.unit} "${killAt?.kind}")`;
      await withJournal(dataDir, (journal) => {
        for (const sim of sims) {
          const id = sim.simulator.serial;
          const thing = emulator.state.thingsBySerial.get(id)!;
          const records = journal.units({ serial: id });
          expect(records, `${where} ${id}: exactly one record`).toHaveLength(1);
          expect(records[0]!.result, `${where} ${id}`).toBe('passed');
          // The cloud's current version is what the unit runs.
          expect(thing.currentVersionId, `${where} ${id}: cloud version`).toBe(sim.simulator.version);
          // The key in the unit is the newest key the cloud issued for it.
          expect(sim.simulator.storedCredentials, `${where} ${id}: newest key`).toEqual({ thingId: thing.thingId, apiKey: thing.issuedKeys.at(-1) });
          expect(thing.name).toBe(`Unit-${id}`);
        }
        expect(journal.unitsInProgress(), `${where}: nothing left in progress`).toHaveLength(0);
        expect(journal.outboxCounts().pending).toBe(0);
      });
      return first;
    } finally {
      await Promise.all(sims.map((sim) => sim.stop()));
    }
  }

  it('kills at every step start and end, mid-download, mid-flash and after a unit record: after restart every unit is consistent, with no duplicate or lost records', { timeout: 300_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crash-data-'));
    // A whole run first: its events are the kill points, so they cover the run to its last record.
    const whole = await trial(0, dataDir);
    const killPoints = [...new Set(whole.events.map(kindOf))];
    expect(killPoints).toEqual(expect.arrayContaining(['reboot started', 'confirm started', 'confirm done', 'flash progress', 'unit']));
    expect(killPoints.length + 1).toBeLessThanOrEqual(MAX_TRIALS);

    const landed: { kind: string; afterRebootStarted: boolean; afterAUnitRecord: boolean }[] = [];
    let trialNo = 1;
    for (const kind of shuffled(killPoints)) {
      const unit = Math.floor(Math.random() * UNITS_PER_TRIAL);
      const run = await trial(trialNo++, dataDir, { unit, kind });
      if (run.killed) {
        landed.push({
          kind,
          afterRebootStarted: run.events.some((event) => kindOf(event) === 'reboot started'),
          afterAUnitRecord: run.events.some((event) => event.type === 'unit'),
        });
      }
    }
    const summary = landed.map((l) => l.kind).join(', ');
    // Most trials must really have been killed mid-run (the last unit record can race the exit).
    expect(landed.length, `killed: ${summary}`).toBeGreaterThanOrEqual(killPoints.length * 0.75);
    // Crashes during reboot, confirm and the final records are what the old draw (the first 45 of ~55 lines) missed.
    expect(landed.filter((l) => l.afterRebootStarted).length, `killed: ${summary}`).toBeGreaterThanOrEqual(3);
    expect(landed.some((l) => l.kind === 'confirm started'), `killed: ${summary}`).toBe(true);
    expect(landed.some((l) => l.afterAUnitRecord), `killed: ${summary}`).toBe(true);
  });
});
