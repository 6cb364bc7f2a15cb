/**
 * Runs N simulated reference units on ptys in one process (so the station
 * process under measurement carries none of their work), prints their paths as
 * one JSON line, and stops on SIGTERM.
 *
 *   node bench/sim-farm.ts <count> [serial-offset]
 */
import { startSimulatorOnPty, type PtySimulator } from '../main/core/simulator/simulator-hosts.ts';

const count = Number(process.argv[2] ?? 1);
const offset = Number(process.argv[3] ?? 0);
const sims: PtySimulator[] = [];
for (let i = 0; i < count; i++) sims.push(await startSimulatorOnPty({ serial: `THERM${String(offset + i + 1).padStart(14, '0')}`, bootDelayMs: 100 }));
console.log(JSON.stringify({ paths: sims.map((sim) => sim.path) }));
process.once('SIGTERM', async () => {
  await Promise.all(sims.map((sim) => sim.stop()));
  process.exit(0);
});
