/**
 * A 1 MiB file through a pacing relay that holds the line to 921600 baud 8N1
 * with a 1 ms turnaround, against the wire's limit (size ÷ (baud ÷ 10)).
 * Every row takes the same path and the same timing points: the sender on a
 * pty, the pacing relay, a second pty, bench/receiver-relay.ts and the
 * receiver program behind it (lrzsz `rb`, or the station's own receiver, the
 * one in the simulated unit, as bench/station-receiver.ts), timed from the
 * receiver's first byte on the line to its exit, with the file checked.
 *
 *   node bench/transfer-vs-wire.ts [--trials N] [--json]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BlockProtocol } from '../main/core/transfer/transfer-types.ts';
import { startHelper, stopHelper } from './child.ts';
import { LRZSZ_RB, sbToRb, stageImage, startRelay, stationSend, type Relay, type ReceiverTiming } from './transfer-vs-lrzsz.ts';

const SIZE = 1 << 20;
const BAUD = 921_600;
const TURNAROUND_MS = 1;

export interface WireRun {
  sender: string;
  receiver: string;
  /** The receiver's first byte on the line to its exit: the median of the trials. */
  ms: number;
  /** Every trial, in the order run. */
  allMs: number[];
  /** The wire's limit ÷ the median time: 1.0 would be every bit time used. */
  ofLimit: number;
}

export interface WireComparison {
  file: number;
  baud: number;
  turnaroundMs: number;
  limitMs: number;
  trials: number;
  runs: WireRun[];
}

/** A line held to the wire's pace by the relay: the sender opens `near`, the receiver `far`. */
export async function pacedLine(baud = BAUD, turnaroundMs = TURNAROUND_MS): Promise<{ near: string; far: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'paced-'));
  const near = join(dir, 'near');
  const far = join(dir, 'far');
  const relay = await startHelper([join(import.meta.dirname, 'pacing-relay.ts'), '--baud', String(baud), '--turnaround-ms', String(turnaroundMs), `pty:${near}`, `pty:${far}`], (line) => (line === 'ready' ? true : undefined));
  return {
    near,
    far,
    stop: async () => {
      await stopHelper(relay.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Send = (pty: string, receiver: Relay, staged: ReturnType<typeof stageImage>, data: Buffer) => Promise<ReceiverTiming>;

/** sender → pty → pacing relay → pty → receiver-relay → receiver program: the one path every row takes. */
async function throughTheWire(send: Send, receiver: string[], data: Buffer): Promise<number> {
  const staged = stageImage(data);
  const line = await pacedLine();
  try {
    const timing = await send(line.near, await startRelay(line.far, staged.receiveDir, receiver), staged, data);
    return timing.fromFirstByteMs;
  } finally {
    await line.stop();
    rmSync(staged.dir, { recursive: true, force: true });
  }
}

const stationReceiver = (protocol: BlockProtocol) => [process.execPath, join(import.meta.dirname, 'station-receiver.ts'), protocol];
const station =
  (protocol: BlockProtocol): Send =>
  (pty, receiver, staged, data) =>
    stationSend(pty, receiver, staged, data, protocol);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Each configuration `trials` times, taking turns so that drift on the machine hits all alike; medians. */
export async function measureTransferVsWire(trials = 3): Promise<WireComparison> {
  const data = randomBytes(SIZE);
  const limitMs = (SIZE / (BAUD / 10)) * 1000;
  const configurations: Array<{ sender: string; receiver: string; run: () => Promise<number> }> = [
    { sender: 'station ymodem-window (windowed)', receiver: 'station receiver', run: () => throughTheWire(station('ymodem-window'), stationReceiver('ymodem-window'), data) },
    { sender: 'station YMODEM (stop-and-wait)', receiver: 'station receiver', run: () => throughTheWire(station('ymodem'), stationReceiver('ymodem'), data) },
    { sender: 'station YMODEM (stop-and-wait)', receiver: 'lrzsz rb', run: () => throughTheWire(station('ymodem'), LRZSZ_RB, data) },
    { sender: 'lrzsz sb (YMODEM)', receiver: 'lrzsz rb', run: () => throughTheWire(sbToRb, LRZSZ_RB, data) },
  ];
  const times = configurations.map((): number[] => []);
  for (let trial = 0; trial < trials; trial++) {
    for (const [index, configuration] of configurations.entries()) times[index]!.push(await configuration.run());
  }
  const runs = configurations.map(({ sender, receiver }, index): WireRun => {
    const ms = median(times[index]!);
    return { sender, receiver, ms, allMs: times[index]!.map(Math.round), ofLimit: limitMs / ms };
  });
  return { file: SIZE, baud: BAUD, turnaroundMs: TURNAROUND_MS, limitMs, trials, runs };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { trials: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
  const result = await measureTransferVsWire(Number(values.trials));
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`1 MiB at ${result.baud} baud 8N1, ${result.turnaroundMs} ms turnaround; limit ${result.limitMs.toFixed(0)} ms; receiver's first byte to its exit, median of ${result.trials}`);
    for (const run of result.runs) console.log(`  ${run.sender.padEnd(34)} → ${run.receiver.padEnd(17)} ${run.ms.toFixed(0).padStart(6)} ms  ${run.ofLimit.toFixed(3)} of the limit  (${run.allMs.join(', ')})`);
  }
}
