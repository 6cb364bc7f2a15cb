/**
 * Units queued while offline (activate + confirm each), replayed against the
 * GadgetKeeper emulator in its own process: units per second and the replay's
 * memory. The backlog is written by one process and replayed by a fresh one
 * that does nothing else, so the replay's memory holds neither the seeding's
 * garbage nor anything an earlier benchmark left behind: run at two backlog
 * sizes, the peaks show whether memory grows with the backlog.
 *
 * The replay runs under the station's own heap policy (main/core/heap-policy.ts,
 * as every station command and the desktop app do), or with `--heap
 * v8-default` under V8's defaults, for comparison.
 *
 *   node bench/outbox-replay.ts [units] [--concurrency 8] [--heap station|v8-default] [--json]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GadgetKeeperAdapter } from '../main/core/cloud/gadgetkeeper/adapter.ts';
import { Connectivity } from '../main/core/engine/connectivity.ts';
import { OutboxReplayer } from '../main/core/engine/outbox-replayer.ts';
import { holdHeapSteady } from '../main/core/heap-policy.ts';
import { Journal } from '../main/core/storage/journal.ts';
import { SecretBox } from '../main/core/storage/secret-box.ts';
import { startHelper, stopHelper } from './child.ts';

/** The station's heap policy (what it runs with), or V8's defaults. */
export type HeapPolicy = 'station' | 'v8-default';

export interface ReplayResult {
  units: number;
  calls: number;
  /** How long writing the backlog took (its own process; not part of the replay). */
  seedSeconds: number;
  seconds: number;
  unitsPerSecond: number;
  /** The replay process's resident memory once it had opened the journal: Node, SQLite, the adapter. */
  rssBeforeReplayMiB: number;
  /** Its peak while replaying (sampled every 20 ms). */
  peakRssMiB: number;
  /** The V8 heap's peak while replaying (sampled with the RSS). */
  peakHeapMiB: number;
  /** V8's young generation (its new space, both semi-spaces) at its largest: V8 grows it as objects survive its scavenges, up to a cap it sets from the machine's memory. */
  peakNewSpaceMiB: number;
  /** The old generation's largest size: where whatever outlives the young generation goes. */
  peakOldSpaceMiB: number;
  heap: HeapPolicy;
  /** V8's collections during the replay: scavenges, full collections, and their time. */
  gc: { minor: number; major: number; ms: number };
  /** The RSS when each tenth of the calls had been made: a plateau, or growth with the backlog. */
  rssByTenthMiB: number[];
  /** After the replay (and after the peak was taken), a full collection: what the process still holds. */
  liveHeapAfterMiB: number;
  concurrency: number;
}

const SELF = import.meta.filename;
const JOURNAL = 'journal.sqlite';
const KEY = 'key.hex';
const mib = (bytes: number) => bytes / 1024 / 1024;
const serialOf = (i: number) => `REPLAY${String(i).padStart(8, '0')}`;
/** The emulator takes up to 100,000 serials a product. */
const PER_PRODUCT = 50_000;

/**
 * The serial numbers by product: units 1…N, and before each product's own a
 * probe (never queued) that the seeder activates online to learn the
 * product's target version.
 */
function products(units: number): string[][] {
  const all: string[][] = [];
  for (let first = 1; first <= units; first += PER_PRODUCT) {
    const last = Math.min(units, first + PER_PRODUCT - 1);
    all.push([probeOf(all.length), ...Array.from({ length: last - first + 1 }, (_, i) => serialOf(first + i))]);
  }
  return all;
}
const probeOf = (product: number) => `PROBE${String(product).padStart(9, '0')}`;

/** Seeds a backlog of `units` in one process and replays it in a fresh one; returns what the replay measured. */
export async function measureOutboxReplay(units = 10_000, concurrency = 8, heap: HeapPolicy = 'station'): Promise<ReplayResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-replay-'));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify({ products: products(units).map((serials, i) => ({ name: `Replay${i}`, serialNumbers: serials, versions: [{ name: '1', firmware: { size: 1024 } }] })) }));
  writeFileSync(join(dir, KEY), randomBytes(32).toString('hex'), { mode: 0o600 });
  const cloud = await startHelper([join(import.meta.dirname, '..', 'bin', 'station.js'), 'sim', 'cloud', 'gadgetkeeper', '--seed', join(dir, 'seed.json')], (line) => /listening on (\S+)/.exec(line)?.[1]);
  try {
    const seeded = await runChild<{ seedSeconds: number }>(['seed', dir, cloud.value, String(units)]);
    const replayed = await runChild<Omit<ReplayResult, 'seedSeconds'>>(['replay', dir, cloud.value, '--concurrency', String(concurrency), '--heap', heap]);
    return { ...replayed, seedSeconds: seeded.seedSeconds };
  } finally {
    await stopHelper(cloud.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** This file in a child process; resolves with the JSON line it prints, once it has exited. */
async function runChild<T>(args: string[]): Promise<T> {
  const child = await startHelper([SELF, ...args], (line) => (line.startsWith('{') ? (JSON.parse(line) as T) : undefined));
  if (child.child.exitCode === null) await new Promise((resolve) => child.child.once('exit', resolve));
  return child.value;
}

function openJournal(dir: string): Journal {
  return Journal.open(join(dir, JOURNAL), new SecretBox(Buffer.from(readFileSync(join(dir, KEY), 'utf8'), 'hex')));
}

/** Queues `units` units as an offline station leaves them: each with an activate and a confirm waiting. */
async function seed(dir: string, cloudUrl: string, units: number): Promise<{ seedSeconds: number }> {
  const started = performance.now();
  const adapter = new GadgetKeeperAdapter({ baseUrl: cloudUrl });
  const byProduct = products(units);
  // Online first (an idle keep-alive connection would not last through the seeding).
  const versionIds: string[] = [];
  for (const product of byProduct.keys()) versionIds.push((await adapter.targetVersion(await adapter.activate(probeOf(product)))).id);
  const journal = openJournal(dir);
  try {
    for (const [product, serials] of byProduct.entries()) {
      const versionId = versionIds[product]!;
      for (const serial of serials.slice(1)) {
        const unit = journal.startUnit(serial, '/dev/ttyBENCH');
        journal.enqueue(unit.id, 'gadgetkeeper', 'activate', {});
        journal.enqueue(unit.id, 'gadgetkeeper', 'confirm', { versionId });
        journal.finishUnit(unit.id, 'pending');
      }
    }
  } finally {
    journal.close();
  }
  return { seedSeconds: (performance.now() - started) / 1000 };
}

/** Replays the whole backlog with the replayer's own loop, as the station runs it, measuring memory meanwhile. */
async function replay(dir: string, cloudUrl: string, concurrency: number, heap: HeapPolicy): Promise<Omit<ReplayResult, 'seedSeconds'>> {
  // As the station command does first thing: its policy is set before its journal and cloud client exist.
  // An empty environment: rows labelled with the policy run it even where STATION_HEAP_POLICY turns it off.
  if (heap === 'station') holdHeapSteady({});
  const journal = openJournal(dir);
  try {
    const units = journal.outboxCounts().pending / 2;
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloudUrl });
    // It recovers from a dropped connection by itself.
    const replayer = new OutboxReplayer({ journal, adapter, connectivity: new Connectivity({ probe: (signal) => adapter.probe({ signal }), probeIntervalMs: 200 }), concurrency, probeIntervalMs: 200, retryBaseMs: 200 });
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    let peakHeap = process.memoryUsage().heapUsed;
    let peakNewSpace = 0;
    let peakOldSpace = 0;
    const sampler = setInterval(() => {
      const usage = process.memoryUsage();
      peak = Math.max(peak, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapUsed);
      for (const space of getHeapSpaceStatistics()) {
        if (space.space_name === 'new_space') peakNewSpace = Math.max(peakNewSpace, space.space_size);
        if (space.space_name === 'old_space') peakOldSpace = Math.max(peakOldSpace, space.space_size);
      }
    }, 20);
    // The replay ends with its last completed call (the loop below only notices it, once a second).
    let lastDoneAt = performance.now();
    let completed = 0;
    const rssByTenth: number[] = [];
    const complete = journal.completeOutbox.bind(journal);
    journal.completeOutbox = (...args) => {
      complete(...args);
      lastDoneAt = performance.now();
      completed++;
      if (completed % (units / 5) === 0) rssByTenth.push(mib(process.memoryUsage().rss));
    };
    const gc = { minor: 0, major: 0, ms: 0 };
    const gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
        if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
        if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
        gc.ms += entry.duration;
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const started = performance.now();
    replayer.start();
    const deadline = Date.now() + 30 * 60_000;
    for (;;) {
      const counts = journal.outboxCounts();
      if (counts.pending + counts['in-flight'] === 0) break;
      if (Date.now() > deadline) throw new Error(`the replay did not finish in 30 minutes: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const seconds = (lastDoneAt - started) / 1000;
    await replayer.stop();
    clearInterval(sampler);
    gcObserver.disconnect();
    const left = journal.outboxCounts();
    if (left.pending + left['in-flight'] + left.failed > 0) throw new Error(`replay left ${JSON.stringify(left)}: ${journal.outboxEntries({ limit: 20 }).find((e) => e.lastError)?.lastError}`);
    // Only now, with the peak taken: a full collection shows what the replay left behind.
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    const liveHeapAfterMiB = mib(process.memoryUsage().heapUsed);
    return { units, calls: left.done, seconds, unitsPerSecond: units / seconds, rssBeforeReplayMiB: mib(rssBefore), peakRssMiB: mib(peak), peakHeapMiB: mib(peakHeap), peakNewSpaceMiB: mib(peakNewSpace), peakOldSpaceMiB: mib(peakOldSpace), heap, gc, rssByTenthMiB: rssByTenth, liveHeapAfterMiB, concurrency };
  } finally {
    journal.close();
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { json: { type: 'boolean', default: false }, concurrency: { type: 'string', default: '8' }, heap: { type: 'string', default: 'station' } }, allowPositionals: true });
  const heap = values.heap as HeapPolicy;
  if (heap !== 'station' && heap !== 'v8-default') throw new Error(`--heap: station or v8-default, not "${values.heap}"`);
  const [first, dir, cloudUrl, units] = positionals;
  if (first === 'seed') console.log(JSON.stringify(await seed(dir!, cloudUrl!, Number(units))));
  else if (first === 'replay') console.log(JSON.stringify(await replay(dir!, cloudUrl!, Number(values.concurrency), heap)));
  else {
    const result = await measureOutboxReplay(Number(first ?? 10_000), Number(values.concurrency), heap);
    console.log(values.json ? JSON.stringify(result) : result);
  }
}
