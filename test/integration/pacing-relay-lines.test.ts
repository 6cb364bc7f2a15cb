import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHelper, stopHelper } from '../../bench/child.ts';
import type { BytePort } from '../../main/core/ports/byte-port.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { referenceWindowProfile } from '../../main/core/devices/profile/load-profile.ts';
import { ProfileDriver } from '../../main/core/devices/profile-driver.ts';
import { startSimulatorOnTty } from '../../main/core/simulator/simulator-hosts.ts';

const RELAY = join(import.meta.dirname, '..', '..', 'bench', 'pacing-relay.ts');
const BAUD = 115_200;
const TURNAROUND_MS = 5;

/** The bench's relay holding `lines` lines; their ends opened as the station would open a port. */
async function pacedLines(lines: number, options: { openEnds?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'relay-test-'));
  const ends = Array.from({ length: lines }, (_, i) => [join(dir, `a${i}`), join(dir, `b${i}`)] as const);
  const relay = await startHelper([RELAY, '--baud', String(BAUD), '--turnaround-ms', String(TURNAROUND_MS), ...ends.flat().map((end) => `pty:${end}`)], (line) => (line === 'ready' ? true : undefined));
  const ports: Array<[BytePort, BytePort]> = [];
  if (options.openEnds !== false) for (const [a, b] of ends) ports.push([await openPort(a), await openPort(b)]);
  return {
    ends,
    ports,
    async stop() {
      for (const pair of ports) for (const port of pair) await port.close();
      await stopHelper(relay.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `data` into one end and reads it whole at the other; resolves with how long the far end took to get it all. */
async function carry(from: BytePort, to: BytePort, data: Buffer): Promise<{ received: Buffer; ms: number }> {
  const reader = new PortReader(to);
  const started = performance.now();
  const [received] = await Promise.all([reader.readBytes(data.length, { timeoutMs: 30_000 }), from.write(data)]);
  return { received, ms: performance.now() - started };
}

describe('the bench pacing relay (many lines in one process)', () => {
  let lines: Awaited<ReturnType<typeof pacedLines>> | undefined;
  afterEach(async () => {
    await lines?.stop();
    lines = undefined;
  });

  it('carries every byte in order both ways, each line at the wire pace and independently of the others', { timeout: 60_000 }, async () => {
    lines = await pacedLines(4);
    const bytes = 2 * (BAUD / 10); // two seconds of the wire each
    const wireMs = (bytes * 10 * 1000) / BAUD;
    const sent = lines.ports.map(() => randomBytes(bytes));
    const started = performance.now();
    // Lines 0 and 2 carry a → b, lines 1 and 3 b → a, all at once.
    const results = await Promise.all(lines.ports.map(([a, b], i) => (i % 2 === 0 ? carry(a, b, sent[i]!) : carry(b, a, sent[i]!))));
    const allMs = performance.now() - started;
    for (const [i, result] of results.entries()) {
      expect(result.received.equals(sent[i]!), `line ${i} delivered other bytes`).toBe(true);
      // Never faster than the wire.
      expect(result.ms, `line ${i}`).toBeGreaterThan(0.97 * wireMs);
    }
    // One after the other they would take four wire times; the lines do not share one wire.
    expect(allMs).toBeLessThan(2 * wireMs);
  });

  it('delays the first bytes after each change of direction by the turnaround', async () => {
    lines = await pacedLines(1);
    const [a, b] = lines.ports[0]!;
    const atA = new PortReader(a);
    const atB = new PortReader(b);
    const exchanges = 20;
    const started = performance.now();
    for (let i = 0; i < exchanges; i++) {
      await a.write(Uint8Array.of(i));
      expect(await atB.readByte({ timeoutMs: 5000 })).toBe(i);
      await b.write(Uint8Array.of(i));
      expect(await atA.readByte({ timeoutMs: 5000 })).toBe(i);
    }
    expect(performance.now() - started).toBeGreaterThan(2 * exchanges * TURNAROUND_MS);
  });

  it('carries a simulated unit on an existing tty (the bench farm\'s host) through a windowed flash', { timeout: 60_000 }, async () => {
    lines = await pacedLines(1, { openEnds: false });
    const [stationEnd, unitEnd] = lines.ends[0]!;
    const unit = await startSimulatorOnTty(unitEnd, { serial: 'THERM00000000000077', transfer: 'ymodem-window', bootDelayMs: 10 });
    const driver = new ProfileDriver(await openPort(stationEnd, { settings: referenceWindowProfile.serial }), referenceWindowProfile);
    try {
      expect(await driver.identify()).toEqual({ serial: 'THERM00000000000077' });
      const data = randomBytes(32 * 1024);
      await driver.flash({ data, sha256: createHash('sha256').update(data).digest('hex'), versionId: 'f'.repeat(32) });
      expect(unit.simulator.flashCount).toBe(1);
      expect(await driver.readVersion()).toBe('f'.repeat(32));
    } finally {
      await driver.close();
      await unit.stop();
    }
  });
});
