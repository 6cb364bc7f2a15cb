import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import type { StationEvent } from '../../../main/core/engine/events.ts';
import type { ScanReport } from '../../../main/core/engine/serial-scanners.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { randomBytes } from 'node:crypto';
import type { BytePort } from '../../../main/core/ports/byte-port.ts';
import { openPort } from '../../../main/core/ports/open-port.ts';
import { openPtyLine, startSimulatorOnPty, type PtyLine, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';
import { until } from '../../helpers/until.ts';

const serial = (n: number) => `SCN${String(n).padStart(5, '0')}`;

/** A serial barcode scanner on a pty: what it "scans" it sends as a line, as USB CDC scanners do. */
async function plugScanner(dir: string): Promise<{ line: PtyLine; scanner: BytePort; scan(text: string): Promise<void>; unplug(): Promise<void> }> {
  const line = await openPtyLine('scanner', dir);
  const scanner = await openPort(line.deviceEnd);
  return {
    line,
    scanner,
    scan: (text) => scanner.write(Buffer.from(`${text}\r\n`)),
    unplug: async () => {
      await scanner.close();
      await line.dispose();
    },
  };
}

describe('a serial barcode scanner on the line (a pty)', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  let station: Station | undefined;
  const sims: PtySimulator[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    await station?.close();
    station = undefined;
    for (const step of cleanup.splice(0).reverse()) await step();
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
  });

  async function line(scannerEntry: Record<string, unknown>, dir: string) {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [serial(1), serial(2)], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    for (let i = 1; i <= 2; i++) sims.push(await startSimulatorOnPty({ serial: serial(i), bootDelayMs: 20 }));
    const config = lineConfigSchema.parse({
      cloud: { backend: 'gadgetkeeper', url: emulator.url },
      ports: [{ path: sims[0]!.path, slot: 'A1' }, { path: sims[1]!.path, slot: 'A2' }, { path: join(dir, 'scanner.tty'), role: 'scanner', ...scannerEntry }],
      labels: { check: { pattern: '/u/(?<serial>[A-Z0-9]+)$', timeoutSeconds: 60 } },
    });
    station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'scanner-data-')) });
    const scans: ScanReport[] = [];
    station.onNotice((notice) => {
      if (notice.type === 'scan') scans.push(notice.report);
    });
    return { station, scans };
  }

  it('each line it sends is a scan for the unit waiting: a matching label passes, a wrong one fails naming both, a scan nobody waits for is refused', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scanner-'));
    const scanner = await plugScanner(dir);
    cleanup.push(() => scanner.unplug());
    const { station, scans } = await line({}, dir);
    const scanOnPrompt = (label: string) => (event: StationEvent) => {
      if (event.type === 'prompt' && event.prompt) void scanner.scan(label);
    };
    const [passed] = await station.provisionOnce([sims[0]!.path], scanOnPrompt(`https://acme.example/u/${serial(1)}`));
    expect(passed).toMatchObject({ result: 'passed', serial: serial(1) });
    expect(scans).toEqual([{ scanner: join(dir, 'scanner.tty'), value: `https://acme.example/u/${serial(1)}`, ok: true, port: sims[0]!.path }]);

    await scanner.scan(`https://acme.example/u/${serial(2)}`);
    await until(() => scans.length === 2);
    expect(scans[1]).toMatchObject({ ok: false, refused: expect.stringContaining('a label was scanned, but no unit waits for a scan') });

    const [wrong] = await station.provisionOnce([sims[1]!.path], scanOnPrompt('https://acme.example/u/SCN00009'));
    expect(wrong).toMatchObject({ result: 'failed', failedStep: 'label-check', errorCode: 'LABEL_MISMATCH', error: expect.stringContaining(`the label says SCN00009, but the unit reports ${serial(2)}`) });
  });

  it('a scanner bound to a slot serves that slot only; unplugged and plugged in again, it is read again', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scanner-'));
    let scanner = await plugScanner(dir);
    const { station, scans } = await line({ for: 'A2' }, dir);
    const waiting = new Set<string>();
    const run = station.provisionOnce([sims[0]!.path, sims[1]!.path], (event) => {
      if (event.type === 'prompt') {
        if (event.prompt) waiting.add(event.port);
        else waiting.delete(event.port);
      }
    });
    await until(() => waiting.size === 2);
    // Both units wait; the scan is A2's, whatever A1 does.
    await scanner.scan(`https://acme.example/u/${serial(2)}`);
    await until(() => scans.length === 1);
    expect(scans[0]).toMatchObject({ ok: true, port: sims[1]!.path });
    expect([...waiting]).toEqual([sims[0]!.path]);

    // Yanked, then plugged in again at the same place: the station opens it again by itself.
    await scanner.unplug();
    await until(() => scans.some((report) => !report.ok && report.refused.includes('cannot be used')));
    scanner = await plugScanner(dir);
    cleanup.push(() => scanner.unplug());
    // What it scans before the station has it open again is lost, as with a real scanner: scan until the station reads one.
    const scansBefore = scans.length;
    const read = () => scans.slice(scansBefore).some((report) => report.value !== '');
    while (!read()) {
      await scanner.scan(`https://acme.example/u/${serial(1)}`);
      await until(read, 1000).catch(() => undefined);
    }
    // Bound to A2, whose unit no longer waits: refused, not handed to A1.
    expect(scans.at(-1)).toMatchObject({ ok: false, refused: expect.stringMatching(/no unit there waits for a scan/) });
    expect(waiting.has(sims[0]!.path)).toBe(true);
    station.answerOperator({ port: sims[0]!.path, value: `https://acme.example/u/${serial(1)}` });
    expect((await run).map((outcome) => outcome.result)).toEqual(['passed', 'passed']);
  });

  it('every screen\'s header says where a serial scanner\'s scan went, or why it was refused', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scanner-'));
    const scanner = await plugScanner(dir);
    cleanup.push(() => scanner.unplug());
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [serial(1)], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    sims.push(await startSimulatorOnPty({ serial: serial(1), bootDelayMs: 20 }));
    const config = lineConfigSchema.parse({
      cloud: { backend: 'gadgetkeeper', url: emulator.url },
      ports: [{ path: sims[0]!.path, slot: 'A1' }, { path: join(dir, 'scanner.tty'), role: 'scanner' }],
      labels: { check: { timeoutSeconds: 60 } },
      autoStart: false,
    });
    const desk = new StationDesk({ dataDir: mkdtempSync(join(tmpdir(), 'scanner-desk-')), settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32), fixedConfig: { config, source: 'line.json' } });
    cleanup.push(() => desk.close(0));
    await desk.init();
    await desk.startLine();
    await until(() => desk.snapshot().tiles[0]?.prompt !== undefined);
    // The station opens its scanner as the line starts; a scan sent before that is lost, as with a real one: scan until one is read.
    while (desk.snapshot().header.lastScan === undefined) {
      await scanner.scan('SCN00009');
      await until(() => desk.snapshot().header.lastScan !== undefined, 1000).catch(() => undefined);
    }
    expect(desk.snapshot().header.lastScan).toMatchObject({ ok: true, message: `Label SCN00009 scanned on ${join(dir, 'scanner.tty')}: for slot A1 (unit ${serial(1)})` });
    await until(() => desk.snapshot().tiles[0]?.state === 'failed');
    await scanner.scan(serial(1));
    await until(() => desk.snapshot().header.lastScan?.ok === false);
    expect(desk.snapshot().header.lastScan!.message).toMatch(/a label was scanned, but no unit waits for a scan/);
  });
});
