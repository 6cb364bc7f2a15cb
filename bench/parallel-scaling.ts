/**
 * The whole pipeline on 1…N simulated units at a real baud rate: every port
 * is a line held to the wire's pace by one pacing relay process
 * (bench/pacing-relay.ts), the units run in one simulator host process
 * (bench/sim-farm.ts), the cloud is the GadgetKeeper emulator in a process of
 * its own, and the station runs in a fresh process per run that does nothing
 * else, so its CPU, event-loop delay and memory are the station's alone.
 *
 *   node bench/parallel-scaling.ts [--baud 921600] [--profile reference-window] [--ports 1,8]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { lineConfigSchema } from '../main/core/config/line-config.ts';
import { Station } from '../main/core/engine/station.ts';
import { holdHeapSteady } from '../main/core/heap-policy.ts';
import { startHelper, stopHelper } from './child.ts';

export type BenchProfile = 'reference' | 'reference-window';

/** What the station process measured over one batch. */
interface StationRun {
  passed: number;
  failed: string[];
  wallMs: number;
  /** Station CPU time ÷ wall time, in % of one core. */
  cpuPercent: number;
  eventLoopP99Ms: number;
  rssBeforeMiB: number;
  peakRssMiB: number;
}

export interface ScalingRow {
  baud: number;
  profile: BenchProfile;
  ports: number;
  passed: number;
  seconds: number;
  unitsPerHour: number;
  /** units/hour ÷ (ports × the 1-port units/hour of the same baud and profile, same run). */
  efficiency: number;
  cpuPercent: number;
  cpuPercentPerPort: number;
  eventLoopP99Ms: number;
  /** The station process's peak resident memory during the batch, and its growth over the idle station. */
  peakRssMiB: number;
  rssGrowthPerPortMiB: number;
  /** The harness, for the machine's load: the relay and the simulator host (% of a core), and the whole machine (% of all cores, other work included). */
  relayCpuPercent: number;
  simulatorCpuPercent: number;
  machineBusyPercent: number;
  httpCallsPerUnit: number;
  firmwareDownloads: number;
  /** The wire's limit for the image alone (size × 10 bits ÷ baud), to read the batch time against. */
  imageWireSeconds: number;
}

const HERE = import.meta.dirname;
const STATION = join(HERE, '..', 'bin', 'station.js');
export const IMAGE_BYTES = 1 << 20;
export const TURNAROUND_MS = 1;
const TRANSFER: Record<BenchProfile, string> = { reference: 'ymodem', 'reference-window': 'ymodem-window' };

/** Each (baud, profile): the batch at every port count, efficiency against its own 1-port batch. */
export async function measureScaling(options: { bauds: number[]; profiles: BenchProfile[]; counts: number[] }): Promise<ScalingRow[]> {
  const total = options.bauds.length * options.profiles.length * options.counts.reduce((a, b) => a + b, 0);
  const dir = mkdtempSync(join(tmpdir(), 'bench-scaling-'));
  const serials = Array.from({ length: total }, (_, i) => serialOf(i + 1));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify({ products: [{ name: 'Thermometer', serialNumbers: serials, versions: [{ name: '2.0.0', firmware: { size: IMAGE_BYTES } }] }] }));
  const cloud = await startHelper([STATION, 'sim', 'cloud', 'gadgetkeeper', '--seed', join(dir, 'seed.json')], (line) => /listening on (\S+)/.exec(line)?.[1]);
  const rows: ScalingRow[] = [];
  let nextSerial = 1;
  try {
    for (const baud of options.bauds) {
      for (const profile of options.profiles) {
        const first = rows.length;
        for (const ports of options.counts) {
          const row = await measureBatch({ baud, profile, ports, firstSerial: nextSerial, cloudUrl: cloud.value });
          nextSerial += ports;
          const single = rows[first] ?? row;
          row.efficiency = row.unitsPerHour / (ports * (single.unitsPerHour / single.ports));
          rows.push(row);
          console.log(`  ${baud} baud, ${profile}, ${ports} port(s): ${row.passed}/${ports} passed in ${row.seconds.toFixed(1)} s, efficiency ${row.efficiency.toFixed(2)}, station CPU ${row.cpuPercent.toFixed(0)} %, machine ${row.machineBusyPercent.toFixed(0)} % busy`);
        }
      }
    }
  } finally {
    await stopHelper(cloud.child);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

const serialOf = (n: number) => `THERM${String(n).padStart(14, '0')}`;

async function measureBatch(batch: { baud: number; profile: BenchProfile; ports: number; firstSerial: number; cloudUrl: string }): Promise<ScalingRow> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-batch-'));
  const stationEnds = Array.from({ length: batch.ports }, (_, i) => join(dir, `port${i}`));
  const unitEnds = Array.from({ length: batch.ports }, (_, i) => join(dir, `unit${i}`));
  const relay = await startHelper(
    [join(HERE, 'pacing-relay.ts'), '--baud', String(batch.baud), '--turnaround-ms', String(TURNAROUND_MS), ...stationEnds.flatMap((end, i) => [`pty:${end}`, `pty:${unitEnds[i]}`])],
    (line) => (line === 'ready' ? true : undefined),
  );
  try {
    const farm = await startHelper([join(HERE, 'sim-farm.ts'), '--transfer', TRANSFER[batch.profile], '--first', String(batch.firstSerial), ...unitEnds], (line) => (line === 'ready' ? true : undefined));
    try {
      const before = await callCounts(batch.cloudUrl);
      const relayCpu = processCpuMs(relay.child.pid!);
      const farmCpu = processCpuMs(farm.child.pid!);
      const machine = machineCpu();
      const run = await runStation({ cloudUrl: batch.cloudUrl, profile: batch.profile, ports: stationEnds });
      const relayUsed = processCpuMs(relay.child.pid!) - relayCpu;
      const farmUsed = processCpuMs(farm.child.pid!) - farmCpu;
      const machineNow = machineCpu();
      const after = await callCounts(batch.cloudUrl);
      const calls = Object.entries(after).reduce((sum, [step, n]) => sum + n - (before[step] ?? 0), 0);
      const seconds = run.wallMs / 1000;
      // The relay's and the host's CPU was counted over the station process's whole life (its start-up too), so their shares are over that span.
      const spanMs = run.spanMs;
      return {
        baud: batch.baud,
        profile: batch.profile,
        ports: batch.ports,
        passed: run.passed,
        seconds,
        unitsPerHour: (run.passed / seconds) * 3600,
        efficiency: 1,
        cpuPercent: run.cpuPercent,
        cpuPercentPerPort: run.cpuPercent / batch.ports,
        eventLoopP99Ms: run.eventLoopP99Ms,
        peakRssMiB: run.peakRssMiB,
        rssGrowthPerPortMiB: Math.max(0, run.peakRssMiB - run.rssBeforeMiB) / batch.ports,
        relayCpuPercent: (relayUsed / spanMs) * 100,
        simulatorCpuPercent: (farmUsed / spanMs) * 100,
        machineBusyPercent: (1 - (machineNow.idle - machine.idle) / (machineNow.total - machine.total)) * 100,
        httpCallsPerUnit: calls / batch.ports,
        firmwareDownloads: (after.download ?? 0) - (before.download ?? 0),
        imageWireSeconds: (IMAGE_BYTES * 10) / batch.baud,
      };
    } finally {
      await stopHelper(farm.child);
    }
  } finally {
    await stopHelper(relay.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The station in a process of its own for one batch; resolves with what it measured, and the span it ran for. */
async function runStation(batch: { cloudUrl: string; profile: BenchProfile; ports: string[] }): Promise<StationRun & { spanMs: number }> {
  const started = performance.now();
  const child = await startHelper([import.meta.filename, 'station', batch.cloudUrl, batch.profile, ...batch.ports], (line) => (line.startsWith('{') ? (JSON.parse(line) as StationRun) : undefined));
  const spanMs = performance.now() - started;
  if (child.child.exitCode === null) await new Promise((resolve) => child.child.once('exit', resolve));
  const run = child.value;
  if (run.failed.length > 0) console.log(`    failed: ${run.failed.slice(0, 3).join(' | ')}`);
  return { ...run, spanMs };
}

/** Runs in the station's own process: opens the station, provisions one unit on every port at once, measures. */
async function stationProcess(cloudUrl: string, profile: BenchProfile, ports: string[]): Promise<StationRun> {
  // As the station command does first thing.
  holdHeapSteady();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-station-'));
  try {
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: cloudUrl }, device: { profile }, thingNameTemplate: 'ThermometerDevice-{serial}', concurrency: { ports: 256 } });
    const station = await Station.open({ config, dataDir });
    const loop = monitorEventLoopDelay({ resolution: 5 });
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    loop.enable();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const outcomes = await station.provisionOnce(ports);
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    loop.disable();
    clearInterval(sampler);
    await station.close();
    const mib = (bytes: number) => bytes / 1024 / 1024;
    return {
      passed: outcomes.filter((o) => o.result === 'passed').length,
      failed: outcomes.filter((o) => o.result !== 'passed').map((o) => `${o.result} ${o.failedStep ?? ''} ${o.error ?? ''}`),
      wallMs,
      cpuPercent: ((used.user + used.system) / 1000 / wallMs) * 100,
      eventLoopP99Ms: loop.percentile(99) / 1e6,
      rssBeforeMiB: mib(rssBefore),
      peakRssMiB: mib(peak),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** A process's CPU time so far (user + system), from /proc. */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // After the command: state is field 3, utime 14 and stime 15 (1-based), so 11 and 12 here.
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000;
}

/** The machine's CPU counters (all cores, every process): idle and total, in ticks. */
function machineCpu(): { idle: number; total: number } {
  const [, ...counts] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = counts.map(Number);
  return { idle: ticks[3]! + (ticks[4] ?? 0), total: ticks.reduce((a, b) => a + b, 0) };
}

async function callCounts(url: string): Promise<Record<string, number>> {
  return (await (await fetch(`${url}/__emulator/calls`)).json()) as Record<string, number>;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { baud: { type: 'string', default: '921600' }, profile: { type: 'string', default: 'reference-window' }, ports: { type: 'string', default: '1,8' } }, allowPositionals: true });
  if (positionals[0] === 'station') {
    const [, cloudUrl, profile, ...ports] = positionals;
    console.log(JSON.stringify(await stationProcess(cloudUrl!, profile as BenchProfile, ports)));
    process.exit(0);
  }
  console.table(await measureScaling({ bauds: [Number(values.baud)], profiles: [values.profile as BenchProfile], counts: values.ports.split(',').map(Number) }));
}
