import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_GADGETKEEPER_SEED, demoSerials } from '../core/cloud/emulators/demo-seeds.ts';
import { startGadgetKeeperEmulator } from '../core/cloud/emulators/gadgetkeeper-emulator.ts';
import { lineConfigSchema } from '../core/config/line-config.ts';
import { throttleProgress } from '../core/engine/event-throttle.ts';
import type { StationEvent } from '../core/engine/events.ts';
import { Station } from '../core/engine/station.ts';
import type { BytePort } from '../core/ports/byte-port.ts';
import { createMemoryPortPair } from '../core/ports/memory-port.ts';
import { openPort } from '../core/ports/open-port.ts';
import { DeviceSimulator } from '../core/simulator/device-simulator.ts';
import { startSimulatorOnPty, type PtySimulator } from '../core/simulator/simulator-hosts.ts';
import { parseCommand } from './args.ts';
import { ProgressBoard } from './progress-board.ts';

const HELP = `Usage: station demo [--ports N] [--json]

Runs a whole line without hardware or a cloud account: a local GadgetKeeper
emulator with a demo product, N simulated units (on pseudo-terminals when
socat is installed, else in memory), and the station provisioning them all at
once with a live progress board. Exit status 0 when every unit passed.

  --ports N    simulated units, 1 to 64 (default 4)
  --json       print station events as JSON lines instead of the board`;

export async function demoCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand('demo', argv, { ports: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as { ports?: string; json?: boolean };
  const count = Number(values.ports ?? 4);
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    console.error('station demo: --ports must be a whole number from 1 to 64');
    return 2;
  }

  const workDir = mkdtempSync(join(tmpdir(), 'station-demo-'));
  const emulator = await startGadgetKeeperEmulator(DEMO_GADGETKEEPER_SEED);
  const units = await simulatedUnits(demoSerials(count));
  const config = lineConfigSchema.parse({
    cloud: { backend: 'gadgetkeeper', url: emulator.url },
    ports: units.paths,
    thingNameTemplate: 'ThermometerDevice-{serial}',
  });
  const station = await Station.open({ config, dataDir: join(workDir, 'data'), open: units.open });
  const board = new ProgressBoard(units.paths);
  const live = !values.json && process.stdout.isTTY === true;
  const print = (event: StationEvent) => {
    board.apply(event);
    if (values.json) console.log(JSON.stringify(event));
    else if (!live && event.type === 'unit') console.log(board.render().split('\n')[units.paths.indexOf(event.port)]);
  };
  if (!values.json) console.log(`GadgetKeeper emulator on ${emulator.url}; ${count} simulated unit(s)${units.onPty ? ' on ptys' : ' in memory (install socat for ptys)'}\n`);
  let drawn = 0;
  const draw = () => {
    const text = board.render(process.stdout.columns ?? 100);
    process.stdout.write(`${drawn ? `\x1b[${drawn}F` : ''}${text.split('\n').map((line) => `${line}\x1b[K`).join('\n')}\n`);
    drawn = units.paths.length;
  };
  const timer = live ? setInterval(draw, 100) : undefined;
  const started = performance.now();
  try {
    const outcomes = await station.provisionOnce(units.paths, throttleProgress(print));
    clearInterval(timer);
    if (live) draw();
    const seconds = (performance.now() - started) / 1000;
    const passed = outcomes.filter((o) => o.result === 'passed').length;
    if (!values.json) {
      console.log(`\n${passed} passed, ${outcomes.length - passed} failed in ${seconds.toFixed(1)} s (${Math.round((outcomes.length / seconds) * 3600)} units per hour)`);
    }
    return passed === outcomes.length ? 0 : 1;
  } finally {
    clearInterval(timer);
    await station.close();
    await units.stop();
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

interface SimulatedUnits {
  paths: string[];
  onPty: boolean;
  open: typeof openPort;
  stop(): Promise<void>;
}

/** Simulated units on ptys through the real serial code, or in memory where socat is missing. */
async function simulatedUnits(serials: string[]): Promise<SimulatedUnits> {
  try {
    const sims: PtySimulator[] = [];
    for (const serial of serials) sims.push(await startSimulatorOnPty({ serial, version: undefined, bootDelayMs: 300, noiseIntervalMs: 1500 }));
    return { paths: sims.map((sim) => sim.path), onPty: true, open: openPort, stop: async () => void (await Promise.all(sims.map((sim) => sim.stop()))) };
  } catch {
    const stationEnds = new Map<string, BytePort>();
    const sims: DeviceSimulator[] = [];
    for (const serial of serials) {
      const [station, device] = createMemoryPortPair(`sim://${serial}`);
      stationEnds.set(station.path, station);
      sims.push(new DeviceSimulator(device, { serial, bootDelayMs: 300, noiseIntervalMs: 1500 }));
    }
    return {
      paths: [...stationEnds.keys()],
      onPty: false,
      open: async (path) => stationEnds.get(path) ?? openPort(path),
      stop: async () => void (await Promise.all(sims.map((sim) => sim.stop()))),
    };
  }
}
