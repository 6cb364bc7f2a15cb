/**
 * Runs many simulated reference units in one process (so the station process
 * under measurement carries none of their work), each on the unit's end of a
 * line that exists already (the pacing relay's), with serial numbers
 * <prefix><first>, <prefix><first + 1>, … Prints "ready" once every unit
 * listens, and stops on SIGTERM.
 *
 *   node bench/sim-farm.ts [--transfer ymodem|ymodem-window] [--prefix THERM] [--first 1] PATH…
 */
import { parseArgs } from 'node:util';
import { startSimulatorOnTty, type TtySimulator } from '../main/core/simulator/simulator-hosts.ts';

const { values, positionals } = parseArgs({ options: { transfer: { type: 'string', default: 'ymodem' }, prefix: { type: 'string', default: 'THERM' }, first: { type: 'string', default: '1' } }, allowPositionals: true });
const transfer = values.transfer;
if ((transfer !== 'ymodem' && transfer !== 'ymodem-window') || positionals.length === 0) {
  console.error('usage: sim-farm [--transfer ymodem|ymodem-window] [--prefix THERM] [--first 1] PATH…');
  process.exit(2);
}
const first = Number(values.first);
const sims: TtySimulator[] = [];
for (const [i, path] of positionals.entries()) {
  const serial = `${values.prefix}${String(first + i).padStart(19 - values.prefix.length, '0')}`;
  sims.push(await startSimulatorOnTty(path, { serial, bootDelayMs: 100, transfer }));
}
process.once('SIGTERM', async () => {
  await Promise.all(sims.map((sim) => sim.stop()));
  process.exit(0);
});
console.log('ready');
