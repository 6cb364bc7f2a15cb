/**
 * The whole pipeline on 1…N simulated units over ptys against the local
 * GadgetKeeper emulator. The units and the emulator run in their own
 * processes, so CPU, event-loop delay and memory are the station's alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { lineConfigSchema } from '../main/core/config/line-config.ts';
import { Station } from '../main/core/engine/station.ts';
import { startHelper, stopHelper } from './child.ts';

export interface ScalingRow {
  ports: number;
  passed: number;
  seconds: number;
  unitsPerHour: number;
  /** units/hour ÷ (ports × the single-port units/hour measured in the same run). */
  efficiency: number;
  /** Station CPU time ÷ wall time, in % of one core. */
  cpuPercent: number;
  eventLoopP99Ms: number;
  rssPerPortMiB: number;
  httpCallsPerUnit: number;
  firmwareDownloads: number;
}

const STATION = join(import.meta.dirname, '..', 'bin', 'station.js');
const FARM = join(import.meta.dirname, 'sim-farm.ts');

export async function measureScaling(counts: number[]): Promise<ScalingRow[]> {
  const cloud = await startHelper([STATION, 'sim', 'cloud', 'gadgetkeeper'], (line) => /listening on (\S+)/.exec(line)?.[1]);
  const rows: ScalingRow[] = [];
  let offset = 0;
  try {
    for (const ports of counts) {
      const farm = await startHelper([FARM, String(ports), String(offset)], (line) => (line.startsWith('{') ? (JSON.parse(line) as { paths: string[] }).paths : undefined));
      offset += ports;
      const dataDir = mkdtempSync(join(tmpdir(), 'bench-scaling-'));
      try {
        const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: cloud.value }, thingNameTemplate: 'ThermometerDevice-{serial}', concurrency: { ports: 256 } });
        const station = await Station.open({ config, dataDir });
        const before = await callCounts(cloud.value);
        const loop = monitorEventLoopDelay({ resolution: 5 });
        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
        loop.enable();
        const cpu = process.cpuUsage();
        const started = performance.now();
        const outcomes = await station.provisionOnce(farm.value);
        const wallMs = performance.now() - started;
        const used = process.cpuUsage(cpu);
        loop.disable();
        clearInterval(sampler);
        await station.close();
        const after = await callCounts(cloud.value);
        const calls = Object.entries(after).reduce((sum, [step, n]) => sum + n - (before[step] ?? 0), 0);
        const seconds = wallMs / 1000;
        const unitsPerHour = (outcomes.length / seconds) * 3600;
        rows.push({
          ports,
          passed: outcomes.filter((o) => o.result === 'passed').length,
          seconds,
          unitsPerHour,
          efficiency: rows.length === 0 ? 1 : unitsPerHour / (ports * (rows[0]!.unitsPerHour / rows[0]!.ports)),
          cpuPercent: ((used.user + used.system) / 1000 / wallMs) * 100,
          eventLoopP99Ms: loop.percentile(99) / 1e6,
          rssPerPortMiB: Math.max(0, peak - baseline) / ports / 1024 / 1024,
          httpCallsPerUnit: calls / outcomes.length,
          firmwareDownloads: (after.download ?? 0) - (before.download ?? 0),
        });
      } finally {
        await stopHelper(farm.child);
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  } finally {
    await stopHelper(cloud.child);
  }
  return rows;
}

async function callCounts(url: string): Promise<Record<string, number>> {
  return (await (await fetch(`${url}/__emulator/calls`)).json()) as Record<string, number>;
}

if (import.meta.main) console.table(await measureScaling([1, 8]));
