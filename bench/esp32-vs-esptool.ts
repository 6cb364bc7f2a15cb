/**
 * A 1 MiB ESP32 application (firmware-like, compressible bytes) flashed at
 * 921600 baud through the pacing relay into the simulated chip (ROM
 * bootloader, with a datasheet's flash erase and program times, and again
 * with none: the line and the protocol alone), by the station's Esp32Driver
 * and by Espressif's esptool (--no-stub, the ROM protocol the simulator is
 * validated against; --compress, which esptool turns on by itself only with
 * its stub), trials alternating. Both are timed from the chip's side between
 * the same two points (bench/esp32-host.ts): the first byte it receives to
 * the last answer it sends; each tool's own wall time is shown beside it.
 *
 *   node bench/esp32-vs-esptool.ts [--trials 3] [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import { Esp32Driver } from '../main/core/devices/esp32/esp32-driver.ts';
import { parseEsp32Profile } from '../main/core/devices/esp32/esp32-profile.ts';
import { partedFirmwareImage } from '../main/core/devices/firmware-image.ts';
import { openPort } from '../main/core/ports/open-port.ts';
import { buildDemoFirmware, DEMO_LAYOUT } from '../main/core/simulator/esp32/demo-firmware.ts';
import { startHelper, stopHelper } from './child.ts';
import type { ChipReport } from './esp32-host.ts';

const BAUD = 921_600;
const TURNAROUND_MS = 1;
const ESPTOOL = resolve(import.meta.dirname, '..', '..', 'shared', 'peers', 'esptool-4.8.1', 'esptool.py');
const PYTHON = '/usr/bin/python3';
const APP_OFFSET = DEMO_LAYOUT.factory.offset;

export type FlashTimingName = 'datasheet' | 'instant';

export interface Esp32Run {
  tool: 'station' | 'esptool';
  /** The simulated flash chip's erase and program times: a datasheet's, or none (the line and the protocol alone). */
  flashTiming: FlashTimingName;
  /** The chip's first received byte to its last answer (median of the trials). */
  ms: number;
  allMs: number[];
  /** The tool's own wall time: process start (esptool) or port open (station) to exit or close (median). */
  toolMs: number;
  /** Bytes the chip received (SLIP-framed commands and data; median). */
  chipReceived: number;
  /** Median over the trials of the median time from the chip's answer to the tool's next bytes. */
  hostReactionMs: number;
  /** The wire's time for the uncompressed image ÷ ms: above 1.0 only thanks to compression. */
  ofWireLimit: number;
}

export interface Esp32Comparison {
  baud: number;
  turnaroundMs: number;
  appBytes: number;
  /** The image deflated at zlib level 9, for reference (esptool and esptool-js compress on their own). */
  deflatedBytes: number;
  wireLimitMs: number;
  trials: number;
  runs: Esp32Run[];
  /** station ms ÷ esptool ms for each flash timing (goal ≤ 1.0). */
  ratios: Record<FlashTimingName, number>;
}

/** An application image close to 1 MiB that fits the factory partition: ESP-IDF's layout, firmware-like bytes. */
function benchApplication(): Uint8Array {
  const build = buildDemoFirmware({ chip: 'esp32', version: '2.0.0', appCodeBytes: (1 << 20) - 12 * 1024 });
  return build.parts.find((part) => part.name === 'app')!.data;
}

/** One trial: a fresh paced line and a fresh chip, one tool, the chip's report checked against the image. */
async function trial(tool: Esp32Run['tool'], flashTiming: FlashTimingName, app: Uint8Array, appFile: string): Promise<{ chipMs: number; toolMs: number; received: number; reactionMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-esp32-'));
  const hostEnd = join(dir, 'host');
  const chipEnd = join(dir, 'chip');
  const relay = await startHelper([join(import.meta.dirname, 'pacing-relay.ts'), '--baud', String(BAUD), '--turnaround-ms', String(TURNAROUND_MS), `pty:${hostEnd}`, `pty:${chipEnd}`], (line) => (line === 'ready' ? true : undefined));
  try {
    const chip = await startHelper([join(import.meta.dirname, 'esp32-host.ts'), chipEnd, '--flash-timing', flashTiming], (line) => (line === 'ready' ? true : undefined), { stdin: 'pipe' });
    try {
      const toolMs = tool === 'esptool' ? await runEsptool(hostEnd, appFile) : await runStation(hostEnd, app);
      const report = await ask(chip.child, `report ${APP_OFFSET} ${app.length}`);
      if (report.sha256 !== createHash('sha256').update(app).digest('hex')) throw new Error(`${tool}: the chip's flash does not hold the image after the run`);
      return { chipMs: report.spanMs, toolMs, received: report.received, reactionMs: report.hostReactionMs };
    } finally {
      await stopHelper(chip.child);
    }
  } finally {
    await stopHelper(relay.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function ask(child: ChildProcess, question: string): Promise<ChipReport> {
  const lines = createInterface({ input: child.stdout! });
  const answer = new Promise<ChipReport>((resolve) => lines.once('line', (line) => resolve(JSON.parse(line) as ChipReport)));
  child.stdin!.write(`${question}\n`);
  try {
    return await answer;
  } finally {
    lines.close();
  }
}

async function runEsptool(port: string, appFile: string): Promise<number> {
  const started = performance.now();
  const esptool = spawn(PYTHON, [ESPTOOL, '--port', port, '--baud', String(BAUD), '--before', 'no_reset', '--after', 'no_reset', '--no-stub', 'write_flash', '--compress', `0x${APP_OFFSET.toString(16)}`, appFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  esptool.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  esptool.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => esptool.once('exit', resolve));
  if (process.env.SHOW_ESPTOOL) console.error(output);
  if (code !== 0 || !/Hash of data verified/.test(output)) throw new Error(`esptool failed (exit ${code}):\n${output.slice(-2000)}`);
  return performance.now() - started;
}

async function runStation(portPath: string, app: Uint8Array): Promise<number> {
  const started = performance.now();
  const driver = new Esp32Driver(await openPort(portPath), parseEsp32Profile({ driver: 'esp32', name: 'bench', chip: 'esp32', flashBaudRate: BAUD }));
  try {
    await driver.identify();
    await driver.flash(partedFirmwareImage([{ name: 'app', offset: APP_OFFSET, data: app }], 'bench'));
  } finally {
    await driver.close();
  }
  return performance.now() - started;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function measureEsp32VsEsptool(trials = 3): Promise<Esp32Comparison> {
  const app = benchApplication();
  const dir = mkdtempSync(join(tmpdir(), 'bench-esp32-app-'));
  const appFile = join(dir, 'app.bin');
  writeFileSync(appFile, app);
  const wireLimitMs = (app.length * 10 * 1000) / BAUD;
  const configurations = (['datasheet', 'instant'] as const).flatMap((flashTiming) => (['station', 'esptool'] as const).map((tool) => ({ tool, flashTiming, chip: [] as number[], own: [] as number[], received: [] as number[], reaction: [] as number[] })));
  try {
    // The configurations take turns, so that drift on the machine hits all alike.
    for (let i = 0; i < trials; i++) {
      for (const configuration of configurations) {
        const result = await trial(configuration.tool, configuration.flashTiming, app, appFile);
        configuration.chip.push(result.chipMs);
        configuration.own.push(result.toolMs);
        configuration.received.push(result.received);
        configuration.reaction.push(result.reactionMs);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const runs = configurations.map(({ tool, flashTiming, chip, own, received, reaction }): Esp32Run => {
    const ms = median(chip);
    return { tool, flashTiming, ms, allMs: chip.map(Math.round), toolMs: median(own), chipReceived: median(received), hostReactionMs: median(reaction), ofWireLimit: wireLimitMs / ms };
  });
  const ratio = (timing: FlashTimingName) => runs.find((r) => r.tool === 'station' && r.flashTiming === timing)!.ms / runs.find((r) => r.tool === 'esptool' && r.flashTiming === timing)!.ms;
  return { baud: BAUD, turnaroundMs: TURNAROUND_MS, appBytes: app.length, deflatedBytes: deflateSync(app, { level: 9 }).length, wireLimitMs, trials, runs, ratios: { datasheet: ratio('datasheet'), instant: ratio('instant') } };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { trials: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
  const result = await measureEsp32VsEsptool(Number(values.trials));
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`${result.appBytes} bytes (deflated ${result.deflatedBytes}) at ${result.baud} baud; the wire's limit for it uncompressed ${result.wireLimitMs.toFixed(0)} ms`);
    for (const run of result.runs) console.log(`  ${run.tool.padEnd(8)} ${run.flashTiming.padEnd(9)} chip's first byte → last answer ${run.ms.toFixed(0)} ms (${run.allMs.join(', ')}), ${run.ofWireLimit.toFixed(2)} of the wire's limit; its own wall time ${run.toolMs.toFixed(0)} ms; the chip received ${run.chipReceived} bytes; the host's reaction ${run.hostReactionMs.toFixed(2)} ms`);
    console.log(`  station ÷ esptool: ${result.ratios.datasheet.toFixed(3)} (datasheet flash), ${result.ratios.instant.toFixed(3)} (instant flash)`);
  }
}
