/**
 * The station's YMODEM sender against lrzsz's own sb, both into lrzsz rb over
 * the same kind of pty pair with the same 1 MiB file, measured in one run.
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

const SIZE = 1 << 20;

/** How long a receiver ran: from its start, and from its first byte on the line (start-up left out), to its exit. */
export interface ReceiverTiming {
  ms: number;
  fromFirstByteMs: number;
  /** Median time from the receiver's answer to the sender's next bytes on the line. */
  senderReactionUs?: number;
  code: number;
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

/** lrzsz `sb` on `pty` sends the staged image to the waiting receiver; resolves with its timing once the file is checked. */
export async function sbToRb(pty: string, rb: Relay, staged: ReturnType<typeof stageImage>, data: Buffer): Promise<ReceiverTiming> {
  const fd = openSync(pty, 'r+');
  const sb = spawn('sb', ['--ymodem', '-k', '-q', 'image.bin'], { cwd: staged.sendDir, stdio: [fd, fd, 'inherit'] });
  closeSync(fd);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // let sb set up its tty and wait for 'C'
    rb.go();
    return await checkedTiming(rb, staged, data, 'sb');
  } finally {
    sb.kill();
  }
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

async function trial(sender: 'station' | 'sb', data: Buffer): Promise<ReceiverTiming> {
  const pair = await makePtyPair();
  const staged = stageImage(data);
  const relay = await startRelay(pair.b, staged.receiveDir);
  try {
    return sender === 'sb' ? await sbToRb(pair.a, relay, staged, data) : await stationSend(pair.a, relay, staged, data);
  } finally {
    await pair.dispose();
    rmSync(staged.dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface TransferComparison {
  file: number;
  trials: number;
  stationMs: number;
  sbMs: number;
  ratio: number;
  stationAll: number[];
  sbAll: number[];
  /** Medians over the trials of each trial's median sender reaction per block. */
  stationReactionUs: number;
  sbReactionUs: number;
  reactionRatio: number;
}

/** Alternates the two senders so that drift on the machine hits both alike; medians. */
export async function measureTransferVsLrzsz(trials: number): Promise<TransferComparison> {
  const data = randomBytes(SIZE);
  const station: ReceiverTiming[] = [];
  const sb: ReceiverTiming[] = [];
  for (let i = 0; i < trials; i++) {
    station.push(await trial('station', data));
    sb.push(await trial('sb', data));
  }
  const ms = (timings: ReceiverTiming[]) => timings.map((timing) => timing.ms);
  const reaction = (timings: ReceiverTiming[]) => median(timings.map((timing) => timing.senderReactionUs ?? Number.NaN));
  return {
    file: SIZE,
    trials,
    stationMs: median(ms(station)),
    sbMs: median(ms(sb)),
    ratio: median(ms(station)) / median(ms(sb)),
    stationAll: ms(station).map(Math.round),
    sbAll: ms(sb).map(Math.round),
    stationReactionUs: reaction(station),
    sbReactionUs: reaction(sb),
    reactionRatio: reaction(station) / reaction(sb),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { trials: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } });
  const result = await measureTransferVsLrzsz(Number(values.trials));
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`1 MiB YMODEM into lrzsz rb over a pty pair, ${result.trials} trials each (median):`);
    console.log(`  station sender: ${result.stationMs.toFixed(0)} ms  (${result.stationAll.join(', ')})`);
    console.log(`  lrzsz sb -k:    ${result.sbMs.toFixed(0)} ms  (${result.sbAll.join(', ')})`);
    console.log(`  ratio station / sb: ${result.ratio.toFixed(3)}`);
    console.log(`  sender's reaction per block (median): station ${result.stationReactionUs.toFixed(0)} µs, sb ${result.sbReactionUs.toFixed(0)} µs, ratio ${result.reactionRatio.toFixed(3)}`);
  }
}
