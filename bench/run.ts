/**
 * npm run bench: every figure beside its peer or its limit, measured in the
 * same run, written to bench/results/latest.md and latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { measureOutboxReplay } from './outbox-replay.ts';
import { measureScaling } from './parallel-scaling.ts';
import { measureTransferVsLrzsz } from './transfer-vs-lrzsz.ts';
import { measureTransferVsWire } from './transfer-vs-wire.ts';

const started = new Date();
console.log('1/4 YMODEM sender vs lrzsz sb → rb …');
const transfer = await measureTransferVsLrzsz(3);
console.log('2/4 flashing 1 MiB through a 921600-baud pacing relay vs the wire limit …');
const wire = await measureTransferVsWire(3);
console.log('3/4 parallel scaling over ptys against the GadgetKeeper emulator …');
const scaling = await measureScaling([1, 8, 16, 32]);
console.log('4/4 outbox replay of 10,000 units …');
const replay = await measureOutboxReplay(10_000);

const results = { started: started.toISOString(), node: process.version, cpus: cpus().length, transfer, wire, scaling, replay };
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);

const f = (n: number, digits = 0) => n.toFixed(digits);
const md = `# Provisioning Station benchmarks

Produced by \`npm run bench\` on ${started.toISOString()} (Node ${process.version}, ${cpus().length} cores). Every figure stands beside its peer or reference from the same run.

## 1. Firmware transfer vs lrzsz

1 MiB YMODEM into lrzsz \`rb\` over a pty pair, timed from rb's start to its exit, ${transfer.trials} alternating trials (median).

| sender | time | ratio to lrzsz \`sb -k\` (goal ≤ 1.0) |
| --- | --- | --- |
| station YMODEM | ${f(transfer.stationMs)} ms | **${f(transfer.ratio, 3)}** |
| lrzsz \`sb -k\` | ${f(transfer.sbMs)} ms | 1.000 |

## 2. Transfer vs the wire

A 1 MiB file through \`bench/pacing-relay.ts\`, which holds a pty line to ${wire.baud} baud 8N1 (one byte per 10 bit times, each direction on its own) and delays the first bytes after each change of direction by ${wire.turnaroundMs} ms (USB serial latency). The wire's limit for the file is size ÷ (baud ÷ 10) = **${f(wire.limitMs)} ms**. Every row takes the same path (the sender on a pty, the pacing relay, a second pty pair, \`bench/receiver-relay.ts\` and the receiver program behind its pipes) and is timed the same way: from the receiver's first byte on the line (its 'C' or 'W', so a program's start-up is left out) to the receiver's exit, with the file checked; the median of ${wire.trials} trials, the four rows taking turns. The station receiver is the simulated unit's own (\`bench/station-receiver.ts\`); a whole flash also carries the FLASH command, the hash check and the answer, which are not in these figures. Rows 3 and 4 compare the senders into the same receiver, rows 2 and 3 the receivers behind the same sender.

| sender | receiver | receiver's first byte → exit (median) | trials | fraction of the wire's limit (goal ≥ 0.90 for the best) |
| --- | --- | --- | --- | --- |
${wire.runs.map((run) => `| ${run.sender} | ${run.receiver} | ${f(run.ms)} ms | ${run.allMs.join(', ')} ms | **${f(run.ofLimit, 3)}** |`).join('\n')}

Stop-and-wait YMODEM pays two turnarounds and a block's wire time per block; ymodem-window (YMODEM-1K blocks with a sliding window, \`profiles/ymodem-window.md\`, built-in profile \`reference-window\`) keeps the line busy while acknowledgements come back.

## 3. Parallel scaling

Whole pipeline (identify → activate → rename → target → download → flash 256 KiB → credentials → reboot → confirm) on simulated units over ptys against the local GadgetKeeper emulator; the units and the emulator run in their own processes. Ptys carry no baud rate, so transfers are CPU-bound on this machine rather than wire-bound.

| ports | passed | seconds | units/hour | efficiency vs N × 1-port | station CPU (% of a core) | event-loop p99 | RSS per port | HTTP calls per unit | firmware downloads |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${scaling.map((r) => `| ${r.ports} | ${r.passed} | ${f(r.seconds, 2)} | ${f(r.unitsPerHour)} | ${f(r.efficiency, 2)} | ${f(r.cpuPercent)} | ${f(r.eventLoopP99Ms, 1)} ms | ${f(r.rssPerPortMiB, 2)} MiB | ${f(r.httpCallsPerUnit, 2)} | ${r.firmwareDownloads} |`).join('\n')}

## 4. Cloud economy

HTTP calls per unit and firmware downloads per batch are in the table above (goal: exactly one download per version per batch).

## 5. Outbox replay

${replay.units.toLocaleString('en')} units queued offline (activate + confirm each, ${replay.calls.toLocaleString('en')} calls), replayed against the emulator (its own process) with ${replay.concurrency} calls in flight, by a process that does nothing else: **${f(replay.unitsPerSecond)} units/s** (${f(replay.seconds, 1)} s). That process's RSS was ${f(replay.rssBeforeReplayMiB)} MiB when the replay began (Node, SQLite, the queued units) and peaked at ${f(replay.peakRssMiB)} MiB during it.
`;
writeFileSync(join(dir, 'latest.md'), md);
console.log(md);
