/**
 * Run by hostile-cloud.test.ts in a process of its own, so its RSS is the
 * adapter's alone: activates one serial number against the URL given and
 * prints one JSON line with the outcome, the time taken and the RSS before,
 * at its peak (sampled every 20 ms) and after. It stops itself when RSS grows
 * by more than 512 MiB, so an unbounded answer cannot take the machine down.
 */
import { CloudError } from '../../../main/core/cloud/cloud-error.ts';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';

const [url, timeoutMs] = process.argv.slice(2);
const RUNAWAY = 512 * 1024 * 1024;
const adapter = new GadgetKeeperAdapter({ baseUrl: url!, timeoutMs: Number(timeoutMs) });
const before = process.memoryUsage().rss;
let peak = before;
const started = performance.now();
const report = (outcome: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ ...outcome, rssBefore: before, rssPeak: peak, rssAfter: process.memoryUsage().rss, elapsedMs: Math.round(performance.now() - started) })}\n`);
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
  if (peak - before > RUNAWAY) {
    report({ outcome: 'runaway' });
    process.exit(3);
  }
}, 20);

try {
  await adapter.activate('THERM00000000000042');
  peak = Math.max(peak, process.memoryUsage().rss);
  report({ outcome: 'activated' });
} catch (error) {
  peak = Math.max(peak, process.memoryUsage().rss);
  report({ outcome: 'failed', failure: error instanceof CloudError ? error.failure : undefined, message: (error as Error).message });
}
clearInterval(sampler);
