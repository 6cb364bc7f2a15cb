import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { configHash } from '../../../main/core/config/config-hash.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import type { StationEvent } from '../../../main/core/engine/events.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startPrinterEmulator, type PrinterEmulator } from '../../../main/core/simulator/printer-emulator.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';
import { until } from '../../helpers/until.ts';

const serial = (n: number) => `LBL${String(n).padStart(5, '0')}`;

describe('label check and label printing on the line', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  let printer: PrinterEmulator | undefined;
  let station: Station | undefined;
  const sims: PtySimulator[] = [];
  afterEach(async () => {
    await station?.close();
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await printer?.stop();
    await emulator?.stop();
    station = undefined;
    printer = undefined;
  });

  async function line(count: number, labels: Record<string, unknown>) {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: Array.from({ length: 9 }, (_, i) => serial(i + 1)), versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    printer = await startPrinterEmulator();
    for (let i = 1; i <= count; i++) sims.push(await startSimulatorOnPty({ serial: serial(i), bootDelayMs: 20 }));
    const config = lineConfigSchema.parse({
      cloud: { backend: 'gadgetkeeper', url: emulator.url },
      ports: sims.map((sim, index) => ({ path: sim.path, slot: `A${index + 1}` })),
      stationId: 'station-7',
      labels: { ...labels, print: { printer: { kind: 'tcp', host: printer.host, port: printer.port }, template: '^XA^FO10,10^FD{serial} {thingId} {operator}^FS^XZ', timeoutSeconds: 2 } },
    });
    station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'labels-')) });
    station.operator = 'Ada';
    return { config, station };
  }

  it('a matching label passes (a scan naming no port goes to the unit waiting), a wrong one fails with both values, and each passed unit gets one label', async () => {
    const { station } = await line(2, { check: { pattern: '/u/(?<serial>[A-Z0-9]+)$', timeoutSeconds: 60 } });
    expect(() => station.answerOperator({ value: 'https://acme.example/u/LBL00001' })).toThrow('a label was scanned, but no unit waits for a scan');
    const events: StationEvent[] = [];
    const outcomes = await station.provisionOnce([sims[0]!.path], (event) => {
      events.push(event);
      // The operator scans the QR code on the unit's label.
      if (event.type === 'prompt' && event.prompt) station.answerOperator({ value: 'https://acme.example/u/LBL00001' });
    });
    expect(outcomes[0]).toMatchObject({ result: 'passed', serial: serial(1) });
    expect(events.find((event) => event.type === 'prompt' && event.prompt)).toMatchObject({ prompt: { kind: 'scan', text: `Scan the label of unit ${serial(1)}` } });
    const thing = emulator!.state.thingsBySerial.get(serial(1))!;
    await until(() => printer!.jobs.length === 1);
    expect(printer!.jobs[0]).toBe(`^XA^FO10,10^FD${serial(1)} ${thing.thingId} Ada^FS^XZ`);

    const [wrong] = await station.provisionOnce([sims[1]!.path], (event) => {
      if (event.type === 'prompt' && event.prompt) station.answerOperator({ port: event.port, promptId: event.prompt.id, value: 'https://acme.example/u/LBL00009' });
    });
    expect(wrong).toMatchObject({ result: 'failed', failedStep: 'label-check', errorCode: 'LABEL_MISMATCH' });
    expect(wrong!.error).toContain(`the label says LBL00009, but the unit reports ${serial(2)}`);
    // A mislabelled unit is stopped before the cloud hears of it.
    expect(emulator!.state.thingsBySerial.get(serial(2))).toBeUndefined();
    expect(printer!.jobs).toHaveLength(1);
  });

  it('a unit unplugged while its label is awaited fails as unplugged at once, not when the prompt times out', async () => {
    const { station } = await line(1, { check: { timeoutSeconds: 600 } });
    const started = Date.now();
    const [outcome] = await station.provisionOnce([sims[0]!.path], (event) => {
      // The technician pulls the unit instead of scanning its label.
      if (event.type === 'prompt' && event.prompt) sims[0]!.unplug();
    });
    expect(outcome).toMatchObject({ result: 'failed', failedStep: 'label-check', errorCode: 'PORT_DISCONNECTED' });
    expect(outcome!.error).toMatch(/unplugged/);
    // Far below the prompt's ten minutes: the port's hang-up ended the wait.
    expect(Date.now() - started).toBeLessThan(60_000);
    // Its prompt closed with it: a scan now finds no unit waiting.
    expect(() => station.answerOperator({ value: serial(1) })).toThrow('a label was scanned, but no unit waits for a scan');
  });

  it('with the printer off the unit still passes, its record says the label was not printed and why', async () => {
    const { station } = await line(1, {});
    await printer!.stop();
    const [outcome] = await station.provisionOnce([sims[0]!.path]);
    expect(outcome).toMatchObject({ result: 'passed' });
    expect(outcome!.labelNotPrinted).toMatch(/label not printed: the printer at 127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\)/);
    const printed = station.journal.stepEvents(outcome!.unitId!).find((event) => event.step === 'label-print' && event.status !== 'started');
    expect(printed).toMatchObject({ status: 'skipped', detail: expect.stringContaining('label not printed') });
  });

  it('every attempt records its operator, station, configuration hash and firmware SHA-256; a label not printed is printed again, with the values it had, once the printer is back', async () => {
    const { config, station } = await line(1, {});
    const port = printer!.port;
    await printer!.stop();
    const [outcome] = await station.provisionOnce([sims[0]!.path]);
    expect(outcome).toMatchObject({ result: 'passed', attemptId: expect.any(Number) });
    const attempt = station.journal.attempt(outcome!.attemptId!)!;
    const image = station.journal.cachedFirmware(station.cache.keyOf({ id: outcome!.versionId! }))!;
    expect(attempt).toMatchObject({
      operator: 'Ada',
      stationId: 'station-7',
      configHash: configHash(config),
      firmwareSha256: createHash('sha256').update(readFileSync(image.path)).digest('hex'),
      label: { serial: serial(1), thingId: outcome!.thingId, operator: 'Ada', slot: 'A1', date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) },
      labelProblem: expect.stringContaining('could not be reached'),
    });

    // Still off: the reprint fails saying why, and the record still says not printed.
    await expect(station.reprintLabel(attempt.id)).rejects.toMatchObject({ code: 'LABEL_NOT_PRINTED' });
    printer = await startPrinterEmulator({ port });
    // Another operator at the station now: the label is the one the unit had.
    station.operator = 'Grace';
    await station.reprintLabel(attempt.id);
    await until(() => printer!.jobs.length > 0);
    expect(printer.jobs).toEqual([`^XA^FO10,10^FD${serial(1)} ${outcome!.thingId} Ada^FS^XZ`]);
    expect(station.journal.attempt(attempt.id)).toMatchObject({ labelProblem: undefined, label: attempt.label });
    // Asked twice at once (a double click): one label, and the second ask says why not.
    const both = await Promise.allSettled([station.reprintLabel(attempt.id), station.reprintLabel(attempt.id)]);
    expect(both.map((settled) => settled.status)).toEqual(['fulfilled', 'rejected']);
    expect(both[1]).toMatchObject({ reason: { code: 'LABEL_PRINTING', message: `unit ${serial(1)}, attempt 1: its label is being printed already` } });
    await until(() => printer!.jobs.length === 2);
    // Once it is out, the label may be printed again.
    await station.reprintLabel(attempt.id);
    await until(() => printer!.jobs.length === 3);
    await expect(station.reprintLabel(9999)).rejects.toMatchObject({ code: 'ATTEMPT_UNKNOWN' });
  });
});

