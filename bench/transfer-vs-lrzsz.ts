/**
 * The station's YMODEM sender against lrzsz's own sb, both into lrzsz rb over
 * the same kind of pty pair with the same 1 MiB file, measured in one run,
 * with the least a Node sender can do (`node-floor-sender.ts`) beside them:
 * on libuv's own tty handle, and on the station's port layer.
 *
 *   node bench/transfer-vs-lrzsz.ts [--trials N] [--json]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openPort } from '../main/core/ports/open-port.ts';
import { PortReader } from '../main/core/ports/port-reader.ts';
import { sendFile } from '../main/core/transfer/transfer.ts';
import type { BlockProtocol } from '../main/core/transfer/transfer-types.ts';
import { makePtyPair } from '../test/helpers/pty-pair.ts';
import { sendAtNodeFloor, sendAtPortFloor } from './node-floor-sender.ts';
import { sendAtThreadFloor } from './thread-floor-sender.ts';

const SIZE = 1 << 20;

/** How long a receiver ran: from its start, and from its first byte on the line (start-up left out), to its exit. */
export interface ReceiverTiming {
  ms: number;
  fromFirstByteMs: number;
  /** Median time from the receiver's answer to the sender's next bytes on the line. */
  senderReactionUs?: number;
  /** Their 99th percentile. */
  senderReactionP99Us?: number;
  /** Their sum: what the sender's reactions added to the transfer, tail included. */
  senderReactionTotalMs?: number;
  /** How many answers the sender reacted to. */
  answers?: number;
  code: number;
  /** CPU the sender's process used (all its threads), from before it opened the line to the receiver's exit. */
  senderCpuMs?: number;
}

export interface Relay {
  go(): void;
  result: Promise<ReceiverTiming>;
}

export const LRZSZ_RB = ['rb', '--ymodem', '-q'];

/** A receiver program (lrzsz `rb` by default) behind a pipe relay on `devicePty`, started on go(); resolves with its timing. */
export async function startRelay(devicePty: string, dir: string, receiver: string[] = LRZSZ_RB): Promise<Relay> {
  const relay = spawn(process.execPath, [join(import.meta.dirname, 'receiver-relay.ts'), devicePty, dir, ...receiver], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  relay.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    let newline: number;
    while ((newline = out.indexOf('\n')) >= 0) {
      lines.push(out.slice(0, newline));
      out = out.slice(newline + 1);
      waiters.splice(0).forEach((wake) => wake());
    }
  });
  const nextLine = async () => {
    while (lines.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
    return lines.shift()!;
  };
  if ((await nextLine()) !== 'ready') throw new Error('relay did not start');
  return { go: () => relay.stdin.write('go\n'), result: nextLine().then((line) => JSON.parse(line) as ReceiverTiming) };
}

/** A folder with image.bin to send and an empty one to receive into. */
export function stageImage(data: Buffer): { dir: string; sendDir: string; receiveDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const sendDir = join(dir, 'send');
  const receiveDir = join(dir, 'receive');
  mkdirSync(sendDir);
  mkdirSync(receiveDir);
  writeFileSync(join(sendDir, 'image.bin'), data);
  return { dir, sendDir, receiveDir };
}

/**
 * Runs `sb` and reports, on descriptor 3, the CPU it used over its life: the kernel's precise run time
 * (getrusage of a waited-for child), which Node does not give for its children.
 */
const SB_WITH_CPU = [
  '-c',
  'import os, resource, subprocess, sys\n' +
    'subprocess.run(sys.argv[1:])\n' +
    'used = resource.getrusage(resource.RUSAGE_CHILDREN)\n' +
    'os.write(3, str((used.ru_utime + used.ru_stime) * 1000).encode())',
  'sb',
  '--ymodem',
  '-k',
  '-q',
  'image.bin',
];

/** lrzsz `sb` on `pty` sends the staged image to the waiting receiver; resolves with its timing once the file is checked. */
export async function sbToRb(pty: string, rb: Relay, staged: ReturnType<typeof stageImage>, data: Buffer): Promise<ReceiverTiming> {
  const fd = openSync(pty, 'r+');
  const sb = spawn('/usr/bin/python3', SB_WITH_CPU, { cwd: staged.sendDir, stdio: [fd, fd, 'inherit', 'pipe'] });
  closeSync(fd);
  let cpu = '';
  sb.stdio[3]!.on('data', (chunk: Buffer) => (cpu += chunk.toString()));
  const exited = new Promise<void>((resolve) => sb.once('close', () => resolve()));
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // let sb set up its tty and wait for 'C'
    rb.go();
    const timing = await checkedTiming(rb, staged, data, 'sb');
    // sb exits once rb has acknowledged the end of the batch; its CPU is known when it has.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    return { ...timing, senderCpuMs: cpu === '' ? undefined : Number(cpu) };
  } finally {
    sb.kill();
  }
}

/** Runs a sender in this process, adding the CPU the process used meanwhile to the receiver's timing. */
async function withCpu(send: () => Promise<ReceiverTiming>): Promise<ReceiverTiming> {
  const before = process.cpuUsage();
  const timing = await send();
  const used = process.cpuUsage(before);
  return { ...timing, senderCpuMs: (used.user + used.system) / 1000 };
}

/** The station's sender on `pty` sends the image to the waiting receiver; resolves with its timing once the file is checked. */
export async function stationSend(pty: string, receiver: Relay, staged: ReturnType<typeof stageImage>, data: Buffer, protocol: BlockProtocol = 'ymodem'): Promise<ReceiverTiming> {
  const port = await openPort(pty);
  try {
    const sending = sendFile({ port, reader: new PortReader(port) }, { protocol, fileName: 'image.bin', data });
    receiver.go();
    await sending;
  } finally {
    await port.close();
  }
  return checkedTiming(receiver, staged, data, `station ${protocol}`);
}

async function checkedTiming(receiver: Relay, staged: ReturnType<typeof stageImage>, data: Buffer, sender: string): Promise<ReceiverTiming> {
  const timing = await receiver.result;
  if (timing.code !== 0 || !readFileSync(join(staged.receiveDir, 'image.bin')).equals(data)) throw new Error(`${sender}: the receiver did not receive the file intact`);
  return timing;
}

/** A floor sender on `pty` sends the image to the waiting receiver; resolves with its timing once the file is checked. */
const FLOORS = { node: sendAtNodeFloor, port: sendAtPortFloor, thread: sendAtThreadFloor };

async function floorSend(floor: keyof typeof FLOORS, pty: string, receiver: Relay, staged: ReturnType<typeof stageImage>, data: Buffer): Promise<ReceiverTiming> {
  await FLOORS[floor](pty, 'image.bin', data, () => receiver.go(), receiver.result);
  return checkedTiming(receiver, staged, data, `${floor} floor sender`);
}

type Sender = 'station' | 'portFloor' | 'floor' | 'threadFloor' | 'sb';
const SENDERS: Sender[] = ['station', 'portFloor', 'floor', 'threadFloor', 'sb'];

async function trial(sender: Sender, data: Buffer): Promise<ReceiverTiming> {
  const pair = await makePtyPair();
  const staged = stageImage(data);
  const relay = await startRelay(pair.b, staged.receiveDir);
  try {
    if (sender === 'sb') return await sbToRb(pair.a, relay, staged, data);
    if (sender === 'floor') return await withCpu(() => floorSend('node', pair.a, relay, staged, data));
    if (sender === 'portFloor') return await withCpu(() => floorSend('port', pair.a, relay, staged, data));
    if (sender === 'threadFloor') return await withCpu(() => floorSend('thread', pair.a, relay, staged, data));
    return await withCpu(() => stationSend(pair.a, relay, staged, data));
  } finally {
    await pair.dispose();
    rmSync(staged.dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One sender's trials, summarised: medians over the trials. */
export interface SenderFigures {
  ms: number;
  all: number[];
  /** Each trial's median reaction per block, median over the trials. */
  reactionUs: number;
  reactionP99Us: number;
  /** Each trial's sum of reactions, median over the trials. */
  reactionTotalMs: number;
  /** Answers reacted to in a trial (the same in every trial of a sender, or the transfer went differently). */
  answers: number;
  /** CPU the sender used in a trial, median over the trials. */
  cpuMs: number;
}

export interface TransferComparison {
  file: number;
  trials: number;
  station: SenderFigures;
  /** The same least sender on the station's port layer: what the port layer costs; the station above it is its transfer code. */
  portFloor: SenderFigures;
  /** The least a Node sender can do (libuv's tty handle, blocks framed ahead): what Node's event loop costs. */
  floor: SenderFigures;
  /** The same least sender on lrzsz's own I/O path (blocking read and write in a thread of its own): what leaving the event loop would gain. */
  threadFloor: SenderFigures;
  sb: SenderFigures;
}

function figures(timings: ReceiverTiming[]): SenderFigures {
  const of = (pick: (timing: ReceiverTiming) => number | undefined) => median(timings.map((timing) => pick(timing) ?? Number.NaN));
  return {
    ms: of((timing) => timing.ms),
    all: timings.map((timing) => Math.round(timing.ms)),
    reactionUs: of((timing) => timing.senderReactionUs),
    reactionP99Us: of((timing) => timing.senderReactionP99Us),
    reactionTotalMs: of((timing) => timing.senderReactionTotalMs),
    answers: of((timing) => timing.answers),
    cpuMs: of((timing) => timing.senderCpuMs),
  };
}

/**
 * Takes the senders in turn, so that drift on the machine hits them alike, and
 * starts each round with the next sender: a trial's place in its round
 * matters (the one after sb's Python and process exits, say), by a few tenths
 * of a percent, as much as the senders differ. Medians.
 */
export async function measureTransferVsLrzsz(trials: number): Promise<TransferComparison> {
  const data = randomBytes(SIZE);
  const timings: Record<Sender, ReceiverTiming[]> = { station: [], portFloor: [], floor: [], threadFloor: [], sb: [] };
  for (let i = 0; i < trials; i++) {
    const order = [...SENDERS.slice(i % SENDERS.length), ...SENDERS.slice(0, i % SENDERS.length)];
    for (const sender of order) timings[sender].push(await trial(sender, data));
  }
  return {
    file: SIZE,
    trials,
    station: figures(timings.station),
    portFloor: figures(timings.portFloor),
    floor: figures(timings.floor),
    threadFloor: figures(timings.threadFloor),
    sb: figures(timings.sb),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { trials: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } });
  const result = await measureTransferVsLrzsz(Number(values.trials));
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`1 MiB YMODEM into lrzsz rb over a pty pair, ${result.trials} trials each (median):`);
    for (const [name, figures] of [['station sender', result.station], ['port floor', result.portFloor], ['node floor', result.floor], ['thread floor', result.threadFloor], ['lrzsz sb -k', result.sb]] as const) {
      console.log(`  ${name.padEnd(15)} ${figures.ms.toFixed(0)} ms (${figures.all.join(', ')}); reaction per block ${figures.reactionUs.toFixed(0)} µs, p99 ${figures.reactionP99Us.toFixed(0)} µs, sum ${figures.reactionTotalMs.toFixed(1)} ms; CPU ${figures.cpuMs.toFixed(1)} ms`);
    }
    const ratio = (a: SenderFigures, b: SenderFigures) => (a.ms / b.ms).toFixed(3);
    console.log(`  station / sb ${ratio(result.station, result.sb)}, station / node floor ${ratio(result.station, result.floor)}, node floor / sb ${ratio(result.floor, result.sb)}, thread floor / sb ${ratio(result.threadFloor, result.sb)}`);
  }
}
