/**
 * 10,000 units queued while offline (activate + confirm each), replayed
 * against the GadgetKeeper emulator in its own process: units per second and
 * the station's peak memory.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GadgetKeeperAdapter } from '../main/core/cloud/gadgetkeeper-adapter.ts';
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
  peakRssMiB: number;
  concurrency: number;
}

export async function measureOutboxReplay(units = 10_000, concurrency = 8): Promise<ReplayResult> {
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
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
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
    return { units, calls, seconds, unitsPerSecond: units / seconds, peakRssMiB: peak / 1024 / 1024, concurrency };
  } finally {
    journal.close();
    await stopHelper(cloud.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(await measureOutboxReplay(Number(process.argv[2] ?? 10_000)));
