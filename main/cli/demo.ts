import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { throttleProgress } from '../core/engine/event-throttle.ts';
import type { StationEvent } from '../core/engine/events.ts';
import { lineSlots } from '../core/config/line-config.ts';
import { Station } from '../core/engine/station.ts';
import { DEMO_KINDS, startDemoLine, type DemoKind } from '../core/simulator/demo-line.ts';
import { parseCommand } from './args.ts';
import { drawLive, ProgressBoard } from './progress-board.ts';

const HELP = `Usage: station demo [--ports N] [--kind reference|esp32] [--json]

Runs a whole line without hardware or a cloud account: a local GadgetKeeper
emulator with a demo product, N simulated units (on pseudo-terminals when
socat is installed, else in memory), and the station provisioning them all at
once with a live progress board. Exit status 0 when every unit passed.

  --ports N    simulated units, 1 to 64 (default 4)
  --kind K     reference: thermometers speaking the reference protocol (default);
               esp32: blank ESP32-S3 chips flashed through their ROM bootloader,
               credentials written into NVS
  --json       print station events as JSON lines instead of the board; the first
               line describes the line: {"type":"demo-line","onPty":…,"memoryFallbackReason":…}`;

export async function demoCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand('demo', argv, { ports: { type: 'string' }, kind: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as { ports?: string; kind?: string; json?: boolean };
  const kind = values.kind ?? 'reference';
  if (!(DEMO_KINDS as readonly string[]).includes(kind)) {
    console.error(`station demo: --kind is one of ${DEMO_KINDS.join(', ')}`);
    return 2;
  }
  const count = Number(values.ports ?? 4);
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    console.error('station demo: --ports must be a whole number from 1 to 64');
    return 2;
  }

  // Ctrl-C or SIGTERM (a batch script's timeout) cancels the units at work; the simulated units, their socat ptys and
  // the temporary data folder are then taken down as after a full run, never left behind.
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const workDir = mkdtempSync(join(tmpdir(), 'station-demo-'));
  let units: Awaited<ReturnType<typeof startDemoLine>> | undefined;
  let station: Station | undefined;
  let screen: ReturnType<typeof drawLive> | undefined;
  try {
    units = await startDemoLine({ ports: count, kind: kind as DemoKind });
    station = await Station.open({ config: units.config, profile: units.profile, dataDir: join(workDir, 'data'), open: units.open });
    const intro = `GadgetKeeper emulator on ${units.cloudUrl}; ${count} simulated ${kind === 'esp32' ? 'ESP32-S3 ' : ''}unit(s)${units.onPty ? ' on ptys' : ' in memory (install socat for ptys)'}`;
    const live = !values.json && process.stdout.isTTY === true;
    const board = new ProgressBoard(lineSlots(units.config.ports), live ? { title: intro } : {});
    const print = (event: StationEvent) => {
      board.apply(event);
      if (values.json) console.log(JSON.stringify(event));
      else if (!live && event.type === 'unit') console.log(board.line(event.port));
    };
    // Units in memory skip the serial code: never silently.
    if (units.memoryFallbackReason) console.error(`station demo: the simulated units run in memory, not on ptys through the serial code (${units.memoryFallbackReason})`);
    if (values.json) console.log(JSON.stringify({ type: 'demo-line', cloudUrl: units.cloudUrl, ports: units.paths, onPty: units.onPty, memoryFallbackReason: units.memoryFallbackReason ?? null }));
    else if (!live) console.log(`${intro}\n`);
    // On a terminal the board is drawn in place, fitted to it; otherwise a line per finished unit.
    screen = live ? drawLive(board, process.stdout) : undefined;
    const started = performance.now();
    const outcomes = await station.provisionOnce(units.paths, throttleProgress(print), controller.signal);
    screen?.stop();
    const seconds = (performance.now() - started) / 1000;
    const passed = outcomes.filter((o) => o.result === 'passed').length;
    if (!values.json) {
      console.log(`${live ? '' : '\n'}${passed} passed, ${outcomes.length - passed} failed in ${seconds.toFixed(1)} s (${Math.round((outcomes.length / seconds) * 3600)} units per hour)`);
    }
    // Every simulated unit passed; a demo stopped before some answered has fewer outcomes than units.
    return passed === count ? 0 : 1;
  } finally {
    screen?.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await station?.close();
    await units?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
