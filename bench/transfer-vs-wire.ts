/**
 * Flashing a 1 MiB image through a pacing relay that holds the line to
 * 921600 baud 8N1 with a 1 ms turnaround, against the wire's limit
 * (size ÷ (baud ÷ 10)): the station's YMODEM and ymodem-window senders into
 * the simulated unit (FLASH command, transfer, hash check, FLASHED answer),
 * and lrzsz's sb → rb through the same relay as the peer.
 *
 *   node bench/transfer-vs-wire.ts [--json]
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { referenceProfile, referenceWindowProfile } from '../main/core/devices/profile/load-profile.ts';
import { ProfileDriver } from '../main/core/devices/profile-driver.ts';
import { openPort } from '../main/core/ports/open-port.ts';
import { makePtyPair, type PtyPair } from '../test/helpers/pty-pair.ts';
import { startHelper, stopHelper } from './child.ts';
import { sbToRb, stageImage, startRelay } from './transfer-vs-lrzsz.ts';

const SIZE = 1 << 20;
const BAUD = 921_600;
const TURNAROUND_MS = 1;
const STATION = join(import.meta.dirname, '../bin/station.js');

export interface WireRun {
  sender: string;
  ms: number;
  /** The wire's limit ÷ the time taken: 1.0 would be every bit time used. */
  ofLimit: number;
}

export interface WireComparison {
  file: number;
  baud: number;
  turnaroundMs: number;
  limitMs: number;
  runs: WireRun[];
}

async function pacedPair(farEnd: string): Promise<{ near: string; stop(): Promise<void> }> {
  const pair = await makePtyPair();
  const relay = await startHelper([join(import.meta.dirname, 'pacing-relay.ts'), pair.b, farEnd, '--baud', String(BAUD), '--turnaround-ms', String(TURNAROUND_MS)], (line) => (line === 'ready' ? true : undefined));
  return {
    near: pair.a,
    stop: async () => {
      await stopHelper(relay.child);
      await pair.dispose();
    },
  };
}

async function stationFlash(transfer: 'ymodem' | 'ymodem-window', data: Buffer): Promise<number> {
  const sim = await startHelper([STATION, 'sim', 'device', '--serial', 'THERM00000000000001', '--transfer', transfer], (line) => /listening on (\S+)/.exec(line)?.[1]);
  const line = await pacedPair(sim.value);
  const profile = transfer === 'ymodem' ? referenceProfile : referenceWindowProfile;
  const driver = new ProfileDriver(await openPort(line.near, { settings: profile.serial }), profile);
  try {
    await driver.identify();
    const image = { data, sha256: createHash('sha256').update(data).digest('hex'), versionId: 'f'.repeat(32) };
    const started = performance.now();
    await driver.flash(image);
    return performance.now() - started;
  } finally {
    await driver.close();
    await line.stop();
    await stopHelper(sim.child);
  }
}

async function lrzszThroughRelay(data: Buffer): Promise<number> {
  const staged = stageImage(data);
  const far: PtyPair = await makePtyPair();
  const line = await pacedPair(far.a);
  try {
    return await sbToRb(line.near, await startRelay(far.b, staged.receiveDir), staged, data);
  } finally {
    await line.stop();
    await far.dispose();
    rmSync(staged.dir, { recursive: true, force: true });
  }
}

export async function measureTransferVsWire(): Promise<WireComparison> {
  const data = randomBytes(SIZE);
  const limitMs = (SIZE / (BAUD / 10)) * 1000;
  const runs: WireRun[] = [];
  const add = (sender: string, ms: number) => runs.push({ sender, ms, ofLimit: limitMs / ms });
  add('station ymodem-window (windowed)', await stationFlash('ymodem-window', data));
  add('station YMODEM (stop-and-wait)', await stationFlash('ymodem', data));
  add('lrzsz sb → rb (YMODEM)', await lrzszThroughRelay(data));
  return { file: SIZE, baud: BAUD, turnaroundMs: TURNAROUND_MS, limitMs, runs };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
  const result = await measureTransferVsWire();
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`1 MiB at ${result.baud} baud 8N1, ${result.turnaroundMs} ms turnaround; limit ${result.limitMs.toFixed(0)} ms`);
    for (const run of result.runs) console.log(`  ${run.sender.padEnd(34)} ${run.ms.toFixed(0).padStart(6)} ms  ${run.ofLimit.toFixed(3)} of the limit`);
  }
}
