/**
 * 10,000 units queued while offline (activate + confirm each), replayed
 * against the GadgetKeeper emulator in its own process: units per second and
 * the replay's memory, measured in a fresh process that does nothing else
 * (so nothing an earlier benchmark left in memory is counted).
 *
 *   node bench/outbox-replay.ts [units] [--json]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GadgetKeeperAdapter } from '../main/core/cloud/gadgetkeeper/adapter.ts';
import { Connectivity } from '../main/core/engine/connectivity.ts';
import { OutboxReplayer } from '../main/core/engine/outbox-replayer.ts';
import { Journal } from '../main/core/storage/journal.ts';
import { SecretBox } from '../main/core/storage/secret-box.ts';
import { startHelper, stopHelper } from './child.ts';

export interface ReplayResult {
  units: number;
  calls: number;
  seconds: number;
  unitsPerSecond: number;
  /** The replay process's resident memory when the replay began: Node, SQLite and the queued units. */
  rssBeforeReplayMiB: number;
  /** Its peak while replaying (sampled every 20 ms). */
  peakRssMiB: number;
  concurrency: number;
}

/** Runs the replay in a fresh process of its own and returns what it measured there. */
export async function measureOutboxReplay(units = 10_000, concurrency = 8): Promise<ReplayResult> {
  const replay = await startHelper([import.meta.filename, String(units), '--concurrency', String(concurrency), '--json'], (line) => (line.startsWith('{') ? (JSON.parse(line) as ReplayResult) : undefined));
  // It exits by itself once it has cleaned up.
  if (replay.child.exitCode === null) await new Promise((resolve) => replay.child.once('exit', resolve));
  return replay.value;
}

async function replayInThisProcess(units: number, concurrency: number): Promise<ReplayResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-replay-'));
  const serials = Array.from({ length: units + 1 }, (_, i) => `REPLAY${String(i).padStart(8, '0')}`);
  writeFileSync(join(dir, 'seed.json'), JSON.stringify({ products: [{ name: 'Replay', serialNumbers: serials, versions: [{ name: '1', firmware: { size: 1024 } }] }] }));
  const cloud = await startHelper([join(import.meta.dirname, '..', 'bin', 'station.js'), 'sim', 'cloud', 'gadgetkeeper', '--seed', join(dir, 'seed.json')], (line) => /listening on (\S+)/.exec(line)?.[1]);
  const journal = Journal.open(join(dir, 'journal.sqlite'), new SecretBox(randomBytes(32)));
  try {
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.value });
    const probe = await adapter.activate(serials[0]!);
    const versionId = (await adapter.targetVersion(probe)).id;
    for (const serial of serials.slice(1)) {
      const unit = journal.startUnit(serial, '/dev/ttyBENCH');
      journal.enqueue(unit.id, 'gadgetkeeper', 'activate', {});
      journal.enqueue(unit.id, 'gadgetkeeper', 'confirm', { versionId });
      journal.finishUnit(unit.id, 'pending');
    }
    // The replayer's own loop, as the station runs it: it recovers from a dropped connection by itself.
    const replayer = new OutboxReplayer({ journal, adapter, connectivity: new Connectivity({ probe: (signal) => adapter.probe({ signal }), probeIntervalMs: 200 }), concurrency, probeIntervalMs: 200, retryBaseMs: 200 });
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = performance.now();
    replayer.start();
    const deadline = Date.now() + 300_000;
    for (;;) {
      const counts = journal.outboxCounts();
      if (counts.pending + counts['in-flight'] === 0) break;
      if (Date.now() > deadline) throw new Error(`the replay did not finish in 5 minutes: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    await replayer.stop();
    clearInterval(sampler);
    const calls = journal.outboxCounts().done;
    const left = journal.outboxCounts();
    if (left.pending + left['in-flight'] + left.failed > 0) throw new Error(`replay left ${JSON.stringify(left)}: ${journal.outboxEntries(20).find((e) => e.lastError)?.lastError}`);
    const mib = (bytes: number) => bytes / 1024 / 1024;
    return { units, calls, seconds, unitsPerSecond: units / seconds, rssBeforeReplayMiB: mib(rssBefore), peakRssMiB: mib(peak), concurrency };
  } finally {
    journal.close();
    await stopHelper(cloud.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { json: { type: 'boolean', default: false }, concurrency: { type: 'string', default: '8' } }, allowPositionals: true });
  const result = await replayInThisProcess(Number(positionals[0] ?? 10_000), Number(values.concurrency));
  console.log(values.json ? JSON.stringify(result) : result);
}
