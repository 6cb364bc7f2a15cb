/**
 * A child process for heap-policy.test.ts: work whose survivors make V8 grow
 * its young generation (objects kept in flight for a while, then dropped),
 * run with the station's heap policy or with V8's defaults; prints the young
 * generation's largest size as JSON.
 *
 *   node test/helpers/heap-workload.ts station|v8-default
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { holdHeapSteady } from '../../main/core/heap-policy.ts';

if (process.argv[2] === 'station') holdHeapSteady();
const youngBytes = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
let peakYoungBytes = youngBytes();
const inFlight: object[] = [];
for (let round = 0; round < 400; round++) {
  for (let i = 0; i < 5000; i++) {
    inFlight.push({ id: round * 5000 + i, name: `unit-${i}`, data: [i, i + 1, i + 2] });
    if (inFlight.length > 20_000) inFlight.splice(0, 2000);
  }
  peakYoungBytes = Math.max(peakYoungBytes, youngBytes());
  // A turn of the event loop between rounds, as a station's work comes.
  await new Promise((resolve) => setImmediate(resolve));
}
console.log(JSON.stringify({ peakYoungBytes }));
