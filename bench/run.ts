/**
 * npm run bench: every figure beside its peer or its limit, measured in the
 * same run, written to bench/results/latest.md and latest.json.
 *
 *   node bench/run.ts [--only transfer,wire,scaling,replay,esp32] [--render]
 *
 * --only re-runs the sections named (a noisy one, say) and keeps the others
 * from the last latest.json; every section carries its own time and the
 * machine's load while it ran. --render only writes latest.md again from
 * latest.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureEsp32VsEsptool, type Esp32Comparison } from './esp32-vs-esptool.ts';
import { measureOutboxReplay, type ReplayResult } from './outbox-replay.ts';
import { IMAGE_BYTES, measureScaling, TURNAROUND_MS as SCALING_TURNAROUND_MS, type ScalingRow } from './parallel-scaling.ts';
import { measureTransferVsLrzsz, type SenderFigures, type TransferComparison } from './transfer-vs-lrzsz.ts';
import { measureTransferVsWire, type WireComparison } from './transfer-vs-wire.ts';

interface Timed<T> {
  at: string;
  /** The machine's 1-minute load average when the section began and when it ended (2 cores; other work runs here too). */
  load: [number, number];
  result: T;
}

interface Results {
  node: string;
  cpus: number;
  transfer: Timed<TransferComparison>;
  wire: Timed<WireComparison>;
  scaling: Timed<ScalingRow[]>;
  /** small and large under the station's heap policy (the goal's figures); v8Default the same under V8's defaults. */
  replay: Timed<{ small: ReplayResult; large: ReplayResult; v8Default: { small: ReplayResult; large: ReplayResult } }>;
  esp32: Timed<Esp32Comparison>;
}

const SECTIONS = ['transfer', 'wire', 'scaling', 'replay', 'esp32'] as const;
type Section = (typeof SECTIONS)[number];
const LRZSZ_TRIALS = 5;
const WIRE_TRIALS = 3;
const ESP32_TRIALS = 3;
const PORT_COUNTS = [1, 8, 16, 32];
const BAUDS = [921_600, 115_200];
const REPLAY_UNITS = { small: 10_000, large: 100_000 };

const { values } = parseArgs({ options: { only: { type: 'string' }, render: { type: 'boolean', default: false } } });
const only = values.render ? [] : values.only ? (values.only.split(',') as Section[]) : [...SECTIONS];
for (const section of only) if (!SECTIONS.includes(section)) throw new Error(`--only: no section "${section}" (${SECTIONS.join(', ')})`);
const dir = join(import.meta.dirname, 'results');
const previous = existsSync(join(dir, 'latest.json')) ? (JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Partial<Results>) : {};
if (only.length < SECTIONS.length) for (const section of SECTIONS) if (!only.includes(section) && !previous[section]) throw new Error(`--only: latest.json has no "${section}" section to keep; run them all`);

async function timed<T>(title: string, measure: () => Promise<T>): Promise<Timed<T>> {
  console.log(title);
  const at = new Date().toISOString();
  const before = loadavg()[0]!;
  const result = await measure();
  return { at, load: [before, loadavg()[0]!], result };
}

const measures: { [S in Section]: () => Promise<Results[S]> } = {
  transfer: () => timed(`YMODEM: the station vs lrzsz sb, into rb on bare ptys (${LRZSZ_TRIALS} trials each) …`, () => measureTransferVsLrzsz(LRZSZ_TRIALS)),
  wire: () => timed('1 MiB through a 921600-baud pacing relay vs the wire limit …', () => measureTransferVsWire(WIRE_TRIALS)),
  scaling: () => timed(`the whole pipeline at ${BAUDS.join(' and ')} baud on ${PORT_COUNTS.join(', ')} ports …`, () => measureScaling({ bauds: BAUDS, profiles: ['reference', 'reference-window'], counts: PORT_COUNTS })),
  replay: () =>
    timed(`outbox replay of ${REPLAY_UNITS.small.toLocaleString('en')} and ${REPLAY_UNITS.large.toLocaleString('en')} units …`, async () => {
      // The policy and V8's defaults take turns at each size, so drift on the machine falls on both.
      const small = await measureOutboxReplay(REPLAY_UNITS.small);
      const smallDefault = await measureOutboxReplay(REPLAY_UNITS.small, 8, 'v8-default');
      const large = await measureOutboxReplay(REPLAY_UNITS.large);
      const largeDefault = await measureOutboxReplay(REPLAY_UNITS.large, 8, 'v8-default');
      return { small, large, v8Default: { small: smallDefault, large: largeDefault } };
    }),
  esp32: () => timed(`ESP32: the station's driver vs esptool through the pacing relay (${ESP32_TRIALS} trials each) …`, () => measureEsp32VsEsptool(ESP32_TRIALS)),
};

const results = { ...previous, node: process.version, cpus: cpus().length } as Results;
for (const section of only) (results as unknown as Record<Section, unknown>)[section] = await measures[section]();
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(dir, 'latest.md'), render(results));
console.log(render(results));

function render(r: Results): string {
  const f = (n: number, digits = 0) => n.toFixed(digits);
  const met = (ok: boolean) => (ok ? 'met' : '**not met**');
  const when = (t: Timed<unknown>) => `Run ${t.at}; load average ${f(t.load[0], 2)} at the start, ${f(t.load[1], 2)} at the end (${r.cpus} cores).`;
  const transfer = r.transfer.result;
  const wire = r.wire.result;
  const rows = r.scaling.result;
  const replay = r.replay.result;
  const esp32 = r.esp32.result;
  const at32 = (baud: number) => rows.find((row) => row.baud === baud && row.profile === 'reference-window' && row.ports === 32);
  const replayRatio = replay.large.peakRssMiB / replay.small.peakRssMiB;
  const defaultRatio = replay.v8Default.large.peakRssMiB / replay.v8Default.small.peakRssMiB;
  const esp = (tool: string, timing: string) => esp32.runs.find((run) => run.tool === tool && run.flashTiming === timing)!;

  const scalingTable = (baud: number) => {
    const head = `| profile | ports | passed | batch | units/hour | efficiency vs N × 1-port | station CPU (% of a core) | per port | event-loop p99 | station peak RSS | RSS growth per port | relay CPU | simulator host CPU | machine busy (all cores) | HTTP calls per unit | firmware downloads |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`;
    const lines = rows
      .filter((row) => row.baud === baud)
      .map(
        (row) =>
          `| ${row.profile} | ${row.ports} | ${row.passed} | ${f(row.seconds, 1)} s | ${f(row.unitsPerHour)} | **${f(row.efficiency, 2)}** | ${f(row.cpuPercent, 1)} | ${f(row.cpuPercentPerPort, 2)} | ${f(row.eventLoopP99Ms, 1)} ms | ${f(row.peakRssMiB)} MiB | ${f(row.rssGrowthPerPortMiB, 2)} MiB | ${f(row.relayCpuPercent)} % | ${f(row.simulatorCpuPercent)} % | ${f(row.machineBusyPercent)} % | ${f(row.httpCallsPerUnit, 2)} | ${row.firmwareDownloads} |`,
      );
    const goal = at32(baud);
    const verdict = goal
      ? `32 ports with \`reference-window\`: efficiency **${f(goal.efficiency, 2)}** against 32 × the 1-port units/hour (goal ≥ 0.90: ${met(goal.efficiency >= 0.9)}), event-loop p99 **${f(goal.eventLoopP99Ms, 1)} ms** (goal < 50 ms: ${met(goal.eventLoopP99Ms < 50)}).`
      : '';
    return `### ${baud} baud\n\nThe image alone needs ${f(rows.find((row) => row.baud === baud)!.imageWireSeconds, 1)} s of this wire. ${verdict}\n\n${head}\n${lines.join('\n')}`;
  };

  return `# Provisioning Station benchmarks

Produced by \`npm run bench\` (Node ${r.node}, ${r.cpus} cores). Every figure stands beside its peer or reference from the same run of its section. The machine is shared with other work (other builds and test suites): each section gives the load average around it, and the pipeline tables give the whole machine's CPU use during each batch.

## 1. Station YMODEM vs lrzsz on bare ptys

1 MiB YMODEM into lrzsz \`rb\` over a pty pair (socat), behind \`bench/receiver-relay.ts\`, timed from rb's start to its exit with the file checked; ${transfer.trials} trials, the senders taking turns, each round starting with the next sender (a trial's place in its round shifts it by a few tenths of a percent), medians. The station sends through its serial port layer (unix ttys read and written on the event loop). The floors (\`bench/node-floor-sender.ts\`) are the least a Node sender can do, on two I/O paths: every block framed before the transfer, one listener answering each ACK with the next block, no timeouts or retries; the Node floor reads and writes through libuv's own tty handle (a stream whose poll stays armed between reads), the port floor through the station's port layer, and the thread floor (\`bench/thread-floor-sender.ts\`) on sb's own I/O path: a worker thread blocking in read(2) for the answer and writing the next block straight after, with no event loop between them, which is the best a native sender on a thread of its own could do. How far apart they are says what the I/O path costs; the station above the port floor is its transfer code (reader, timeouts, retries, progress; its blocks are framed before the data blocks start, once per image, and each next block is written from the wake-up that read the ACK, as the floors do). Differences of a percent are within one sender's spread from trial to trial (the trials column). rb waits about 1 s before its first 'C' and about 2 s around the end of the batch, the same for every sender, so the reaction columns isolate what a sender adds per block: the time from rb's ACK to the sender's next block on the line (each trial's median and 99th percentile, and the sum over its ${transfer.station.answers} answers: what the reactions added to the transfer, with the two socat hops and the relay's own wake-ups in each; medians over the trials). The CPU column is what each sender used over a trial, from before it opened the line to rb's exit: for the Node senders the whole process's CPU (all threads, with the file check after the transfer; for the thread floor also starting its worker thread, which loads its own modules), for sb its own as the kernel counted it (getrusage through a small Python wrapper), start-up included. ${when(r.transfer)}

| sender | rb start → exit (median) | trials | ratio to lrzsz \`sb -k\` (goal ≤ 1.00) | ratio to the Node floor | reaction per block (median) | 99th percentile | sum over the transfer | sender CPU over the trial |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${(
  [
    ['station YMODEM', transfer.station],
    ['port floor', transfer.portFloor],
    ['Node floor', transfer.floor],
    ['thread floor', transfer.threadFloor],
    ['lrzsz \`sb -k\`', transfer.sb],
  ] as const
)
  .map(([name, x]) => {
    const toSb = x.ms / transfer.sb.ms;
    // The station's ratio to sb is the goal's figure.
    const goal = x === transfer.station ? `**${f(toSb, 3)}** (${met(toSb <= 1)})` : f(toSb, 3);
    return `| ${name} | ${f(x.ms)} ms | ${x.all.join(', ')} ms | ${goal} | ${f(x.ms / transfer.floor.ms, 3)} | ${f(x.reactionUs)} µs | ${f(x.reactionP99Us)} µs | ${f(x.reactionTotalMs, 1)} ms | ${Number.isNaN(x.cpuMs) ? 'not measured' : `${f(x.cpuMs, 1)} ms`} |`;
  })
  .join('\n')}

${roundByRound(transfer)}

A sender on Node's event loop wakes through epoll_wait and a callback into JavaScript, sb straight out of read(2): the Node and port floors against the thread floor show what that costs, and the thread floor against sb what is left between a JavaScript sender and sb once the event loop is out of the way. On 2 cores the sender shares the machine with socat, the relay and rb, so work a sender does after its write delays the others handling that block: framing a block there (about 3 µs), as the station did until it framed its images ahead, added about 10 µs to every reaction; before its next block answered the ACK from the reader's wake-up, three awaits between the two added about 10 µs more.

## 2. Transfer vs the wire

A 1 MiB file through \`bench/pacing-relay.ts\`, which holds the line to ${wire.baud} baud 8N1 (one byte per 10 bit times, each direction on its own) and delays the first bytes after each change of direction by ${wire.turnaroundMs} ms (USB serial latency). The wire's limit for the file is size ÷ (baud ÷ 10) = **${f(wire.limitMs)} ms**. Every row takes the same path (the sender on a pty, the pacing relay, a second pty, \`bench/receiver-relay.ts\` and the receiver program behind its pipes) and is timed the same way: from the receiver's first byte on the line (its 'C' or 'W', so a program's start-up is left out) to the receiver's exit, with the file checked; the median of ${wire.trials} trials, the four rows taking turns. The station receiver is the simulated unit's own (\`bench/station-receiver.ts\`); a whole flash also carries the FLASH command, the hash check and the answer, which are not in these figures. Rows 3 and 4 compare the senders into the same receiver, rows 2 and 3 the receivers behind the same sender. ${when(r.wire)}

| sender | receiver | receiver's first byte → exit (median) | trials | fraction of the wire's limit (goal ≥ 0.90 for the best) |
| --- | --- | --- | --- | --- |
${wire.runs.map((run) => `| ${run.sender} | ${run.receiver} | ${f(run.ms)} ms | ${run.allMs.join(', ')} ms | **${f(run.ofLimit, 3)}** |`).join('\n')}

Stop-and-wait YMODEM pays two turnarounds and a block's wire time per block; ymodem-window (YMODEM-1K blocks with a sliding window, \`profiles/ymodem-window.md\`, built-in profile \`reference-window\`) keeps the line busy while acknowledgements come back.

## 3. The whole pipeline at real baud rates

Identify → activate → rename → target → download → flash ${IMAGE_BYTES / 1024 / 1024} MiB → credentials → reboot → confirm, on 1, 8, 16 and 32 simulated units at once against the local GadgetKeeper emulator. Every port is a line held to the baud rate (8N1, ${SCALING_TURNAROUND_MS} ms turnaround) by one \`bench/pacing-relay.ts\` process for all of them; the units run in one simulator host process (\`bench/sim-farm.ts\`), the emulator in its own, and the station in a fresh process per batch that does nothing else, so its CPU, event-loop delay (p99, sampled every 5 ms) and memory are the station's alone. A batch is one unit on every port at once, timed from the start to the last outcome; units/hour is units ÷ that time, and efficiency compares it with the number of ports × the 1-port figure of the same baud and profile from the same run. The relay and simulator host columns (% of a core) and the machine's busy share show what the harness and everything else on the machine took meanwhile. ${when(r.scaling)}

${[...new Set(rows.map((row) => row.baud))].map(scalingTable).join('\n\n')}

HTTP calls per unit and firmware downloads per batch are the cloud economy (goal: exactly one download per version per batch). Each unit makes four calls of its own (activate, rename, target version, confirm); the batch downloads the firmware once for all its units, hence 4 + 1/ports.

## 4. Outbox replay

Units queued offline (activate + confirm each), replayed against the emulator (its own process) with ${replay.small.concurrency} calls in flight. The backlog is written by one process and replayed by a fresh one that does nothing else (the replayer pages through the outbox, ${replay.small.concurrency} due calls a query), under the station's heap policy (\`main/core/heap-policy.ts\`, which every station command and the desktop app set when they start: the young generation kept within its starting size, the old generation collected once it is 10 % over what the last full collection kept), and again under V8's defaults for comparison. Peak RSS and heap are sampled every 20 ms during the replay; "RSS by tenths" is the RSS as each tenth of the calls completed; GC is V8's scavenges and full collections during the replay and the main thread's pauses for them (concurrent marking on the other core is not in it); each row is one run, the policy's and the defaults' taking turns at each size; the live heap is measured after a full collection once the replay (and its peak) were over. ${when(r.replay)}

| backlog | heap | calls | replay | units/s | RSS before | peak RSS | peak heap | young generation at its largest | old space at its largest | GC: scavenges, full, time | RSS by tenths of the calls | live heap after |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${[replay.small, replay.large, replay.v8Default.small, replay.v8Default.large].map((x) => `| ${x.units.toLocaleString('en')} units | ${x.heap === 'station' ? "the station's policy" : "V8's defaults"} | ${x.calls.toLocaleString('en')} | ${f(x.seconds, 1)} s | **${f(x.unitsPerSecond)}** | ${f(x.rssBeforeReplayMiB)} MiB | **${f(x.peakRssMiB)} MiB** | ${f(x.peakHeapMiB)} MiB | ${f(x.peakNewSpaceMiB)} MiB | ${f(x.peakOldSpaceMiB)} MiB | ${x.gc.minor}, ${x.gc.major}, ${f(x.gc.ms)} ms (${f((100 * x.gc.ms) / 1000 / x.seconds, 1)} %) | ${x.rssByTenthMiB.map((m) => f(m)).join(', ')} MiB | ${f(x.liveHeapAfterMiB, 1)} MiB |`).join('\n')}

Peak RSS of the ${replay.large.units.toLocaleString('en')}-unit replay ÷ the ${replay.small.units.toLocaleString('en')}-unit one: **${f(replayRatio, 2)}** under the station's heap policy (goal ≤ 1.20: ${met(replayRatio <= 1.2)}); ${f(defaultRatio, 2)} under V8's defaults. Live heap after the replay: ${f(replay.small.liveHeapAfterMiB, 1)} and ${f(replay.large.liveHeapAfterMiB, 1)} MiB (what the process still holds once collected; a backlog loaded into memory would show here).

The station holds the same data at both sizes; what grows under V8's defaults is V8's heap sizing. The young generation doubles whenever the bytes that survived its scavenges since the last doubling exceed its size, so a longer run (more calls, not more of the backlog in memory) reaches the next doubling: ${f(replay.v8Default.small.peakNewSpaceMiB)} MiB at the end of the short run, ${f(replay.v8Default.large.peakNewSpaceMiB)} MiB in the long one. And the old space fills with promoted garbage up to a limit V8 sets as a multiple of what its last full collection kept, which a short run does not reach. The station's policy keeps the first within its starting size (${f(replay.large.peakNewSpaceMiB)} MiB) and collects the second sooner (old space at most ${f(replay.large.peakOldSpaceMiB)} MiB), for the GC time in its rows.

## 5. ESP32: the station vs esptool

A ${f(esp32.appBytes / 1024)} KiB ESP-IDF-shaped application (firmware-like, compressible bytes: ${f(esp32.deflatedBytes / 1024)} KiB deflated) written at 0x10000 at ${esp32.baud} baud through \`bench/pacing-relay.ts\` (${esp32.turnaroundMs} ms turnaround) into the simulated ESP32's ROM bootloader (\`bench/esp32-host.ts\`, a fresh chip and line each trial). Rows: the station's \`Esp32Driver\` (identify, then flash: sync, chip check, MAC, attach and size the flash, raise the baud rate, compressed write in 1 KiB blocks, MD5 check) and esptool 4.8.1 \`--before no_reset --after no_reset --no-stub write_flash --compress\` (sync, chip detection, MAC, baud change, flash attach and size, compressed write in 1 KiB blocks, MD5 check; esptool compresses by itself only with its stub). Both are timed by the chip between the same points: the first byte it receives to the last answer it sends (the tools' own start-up is in the last column only). The relay holds the whole session to ${esp32.baud} baud, including the sync that a real line runs at 115200 before the baud change, for both alike. "Datasheet" flash erases at 2.4 ms/KiB and programs at 2.8 ms/KiB, and the ROM writes each block before it answers; "instant" leaves only the line and the protocol. The wire's limit is the image's uncompressed size at 10 bits a byte (${f(esp32.wireLimitMs)} ms); compression can take a tool past 1.0. Medians of ${esp32.trials} trials, the four configurations taking turns. ${when(r.esp32)}

| tool | flash timing | chip's first byte → last answer (median) | trials | fraction of the wire's limit | ratio to esptool (goal ≤ 1.00) | bytes the chip received | host's reaction per command (median) | tool's own wall time |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${esp32.runs.map((run) => `| ${run.tool === 'station' ? 'station Esp32Driver' : 'esptool --no-stub --compress'} | ${run.flashTiming} | ${f(run.ms)} ms | ${run.allMs.join(', ')} ms | **${f(run.ofWireLimit, 2)}** | ${run.tool === 'station' ? `**${f(esp32.ratios[run.flashTiming], 3)}** (${met(esp32.ratios[run.flashTiming] <= 1)})` : '1.000'} | ${run.chipReceived.toLocaleString('en')} | ${f(run.hostReactionMs, 2)} ms | ${f(run.toolMs)} ms |`).join('\n')}

"Host's reaction" is the median time from one of the chip's answers to the tool's next bytes at the chip: the line both ways (two turnarounds, the relay's pieces) plus the tool's own work per command.

With the datasheet's flash times neither tool reaches the wire's limit (${f(esp('station', 'datasheet').ofWireLimit, 2)} and ${f(esp('esptool', 'datasheet').ofWireLimit, 2)}): the ROM bootloader erases the region, then programs each block before it answers, and that flash time adds to the line's. With instant flash the compression shows: ${f(esp('station', 'instant').ofWireLimit, 2)} and ${f(esp('esptool', 'instant').ofWireLimit, 2)} of the limit.
`;
}

/**
 * The station against sb round by round: each round's trials ran back to back, so their ratio
 * compares the senders under the same load; how often the station came in at or under sb, and
 * sb's own spread, say whether the median's distance from 1.00 is more than noise.
 */
function roundByRound(transfer: TransferComparison): string {
  const toSb = (sender: SenderFigures) => {
    const ratios = sender.all.map((ms, round) => ms / transfer.sb.all[round]!);
    return `${ratios.map((ratio) => ratio.toFixed(3)).join(', ')}; at or under 1.00 in ${ratios.filter((ratio) => ratio <= 1).length} of ${ratios.length} rounds`;
  };
  const spread = (all: number[]) => (Math.max(...all) - Math.min(...all)) / Math.min(...all);
  return (
    `Round by round (each round's trials ran back to back, in turn): the station ÷ sb = ${toSb(transfer.station)}; the thread floor ÷ sb = ${toSb(transfer.threadFloor)}. ` +
    `sb's own trials spread by ${(100 * spread(transfer.sb.all)).toFixed(1)} % (slowest over fastest), the station's by ${(100 * spread(transfer.station.all)).toFixed(1)} %.`
  );
}
