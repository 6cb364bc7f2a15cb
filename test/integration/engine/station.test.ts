import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import type { StationEvent } from '../../../main/core/engine/events.ts';
import { Station } from '../../../main/core/engine/station.ts';
import type { SimulatorOptions } from '../../../main/core/simulator/device-simulator.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';

const serial = (n: number) => `THERM${String(n).padStart(14, '0')}`;

describe('station engine: many ports at once against the GadgetKeeper emulator', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  let station: Station | undefined;
  const sims: PtySimulator[] = [];
  afterEach(async () => {
    await station?.close();
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
    station = undefined;
    emulator = undefined;
  });

  async function line(units: SimulatorOptions[]) {
    emulator = await startGadgetKeeperEmulator({
      products: [
        {
          name: 'Thermometer',
          serialNumbers: Array.from({ length: 20 }, (_, i) => serial(i + 1)),
          versions: [
            { name: '1.0.0', firmware: { size: 1000 } },
            { name: '1.1.0', firmware: { size: 256 * 1024 } },
          ],
        },
      ],
    });
    for (const unit of units) sims.push(await startSimulatorOnPty({ bootDelayMs: 50, ...unit }));
    const config = lineConfigSchema.parse({
      cloud: { backend: 'gadgetkeeper', url: emulator.url },
      ports: sims.map((sim) => sim.path),
      thingNameTemplate: 'ThermometerDevice-{serial}',
    });
    station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'station-')) });
    const events: StationEvent[] = [];
    const outcomes = await station.provisionOnce(config.ports as string[], (event) => events.push(event));
    return { outcomes, events, emulator, station };
  }

  it('8 units on 8 ptys: 8 passed records, exactly one firmware download, and the cloud agrees', async () => {
    const { outcomes, events, emulator, station } = await line(Array.from({ length: 8 }, (_, i) => ({ serial: serial(i + 1), noiseIntervalMs: 40 })));
    expect(outcomes.map((o) => o.result)).toEqual(Array(8).fill('passed'));
    expect(emulator.calls.get('download')).toBe(1);
    expect(station.cache.downloadCount).toBe(1);
    const target = emulator.state.thingsBySerial.get(serial(1))!.targetVersionId;
    for (const [i, sim] of sims.entries()) {
      const thing = emulator.state.thingsBySerial.get(serial(i + 1))!;
      expect(thing.currentVersionId).toBe(target);
      expect(thing.name).toBe(`ThermometerDevice-${serial(i + 1)}`);
      // The key in the unit is the newest one the cloud issued for it.
      expect(sim.simulator.storedCredentials).toEqual({ thingId: thing.thingId, apiKey: thing.apiKey });
      expect(sim.simulator.version).toBe(target);
    }
    const records = station.journal.units();
    expect(records).toHaveLength(8);
    expect(records.every((r) => r.result === 'passed' && r.credentialsState === 'written' && r.versionId === target)).toBe(true);
    expect(events.some((e) => e.type === 'progress' && e.step === 'flash')).toBe(true);
    const outcome = outcomes[0]!;
    expect(outcome).toMatchObject({ type: 'unit', serial: serial(1), thingId: expect.stringMatching(/^[0-9a-f]{32}$/), versionId: target });
    expect(Object.keys(outcome.steps)).toEqual(['identify', 'activate', 'rename', 'target-version', 'current-version', 'download', 'flash', 'write-credentials', 'verify-credentials', 'reboot', 'confirm']);
  });

  it('a unit already on the target version is not flashed but still confirmed', async () => {
    // The version id is random per emulator, so learn it from a first pass, then run the same unit again.
    const first = await line([{ serial: serial(1) }]);
    const target = first.outcomes[0]!.versionId!;
    const again = await first.station.provisionOnce([sims[0]!.path]);
    expect(again[0]).toMatchObject({ result: 'passed', versionId: target });
    expect(sims[0]!.simulator.flashCount).toBe(1);
    const events = first.station.journal.stepEvents(again[0]!.unitId!);
    expect(events.filter((e) => e.step === 'flash').map((e) => e.status)).toEqual(['started', 'skipped']);
    expect(events.some((e) => e.step === 'confirm' && e.status === 'done')).toBe(true);
  });

  it('an unknown serial number, a serial number on two ports and a garbage-speaking unit each fail alone; the rest pass', async () => {
    const { outcomes, station } = await line([
      { serial: serial(1) },
      { serial: 'THERM99999999999999' },
      { serial: serial(2) },
      { serial: serial(2), answerDelayMs: 100 },
      { serial: serial(3), faults: { garbage: 'binary' } },
      { serial: serial(4) },
    ]);
    const by = (i: number) => outcomes[i]!;
    expect(by(0).result).toBe('passed');
    expect(by(5).result).toBe('passed');
    expect(by(1)).toMatchObject({ result: 'failed', failedStep: 'activate' });
    expect(by(1).error).toContain('serial number THERM99999999999999 is not registered with this product (GadgetKeeper answered 404)');
    const duplicates = [by(2), by(3)];
    expect(duplicates.filter((o) => o.result === 'passed')).toHaveLength(1);
    const loser = duplicates.find((o) => o.result === 'failed')!;
    expect(loser).toMatchObject({ failedStep: 'identify' });
    expect(loser.error).toMatch(/serial number THERM00000000000002 is already being provisioned on port/);
    expect(by(4)).toMatchObject({ result: 'failed', failedStep: 'identify' });
    expect(by(4).error).toMatch(/not text/);
    // Every unit, failed or not, has its record.
    expect(station.journal.units()).toHaveLength(6);
  });

  it('a port that cannot be opened is a per-unit failure with a record, not a crash', async () => {
    const { outcomes: ok } = await line([{ serial: serial(1) }]);
    expect(ok[0]!.result).toBe('passed');
    const missing = await station!.provisionOnce(['/dev/nonexistent-port']);
    expect(missing[0]).toMatchObject({ result: 'failed', failedStep: 'identify' });
    expect(missing[0]!.error).toContain('port /dev/nonexistent-port');
    expect(station!.journal.units({ limit: 10 })[0]).toMatchObject({ port: '/dev/nonexistent-port', result: 'failed' });
  });
});

describe('retry from the failed step', () => {
  it('retries a unit that failed at write-credentials on its own record, without a second activation', async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [serial(1), serial(2)], versions: [{ name: '1', firmware: { size: 8000 } }] }] });
    const sim = await startSimulatorOnPty({ serial: serial(1), bootDelayMs: 20, faults: { refuseCredentials: true } });
    const other = await startSimulatorOnPty({ serial: serial(2), bootDelayMs: 20 });
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } });
    const station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'retry-')) });
    try {
      const [failed] = await station.provisionOnce([sim.path]);
      expect(failed).toMatchObject({ result: 'failed', failedStep: 'write-credentials' });
      expect(failed!.error).toContain('the device answered error STORAGE');

      // The unit's memory recovers (say, after reseating it); the technician presses retry.
      (sim.simulator as unknown as { options: SimulatorOptions }).options.faults = {};
      const retried = await station.retry(failed!.unitId!);
      expect(retried).toMatchObject({ result: 'passed', unitId: failed!.unitId });
      const thing = emulator.state.thingsBySerial.get(serial(1))!;
      expect(thing.issuedKeys).toHaveLength(1);
      expect(sim.simulator.storedCredentials).toEqual({ thingId: thing.thingId, apiKey: thing.apiKey });
      expect(sim.simulator.flashCount).toBe(1);
      expect(station.journal.units({ serial: serial(1) })).toHaveLength(1);
      // Both tries are kept, as attempts 1 and 2 of the same unit record.
      expect(station.journal.attempts({ serial: serial(1) }).map((attempt) => [attempt.number, attempt.unitId, attempt.result, attempt.failedStep])).toEqual([
        [2, failed!.unitId, 'passed', undefined],
        [1, failed!.unitId, 'failed', 'write-credentials'],
      ]);

      // Retrying a record with a different unit on its port is refused plainly.
      const [second] = await station.provisionOnce([other.path]);
      expect(second!.result).toBe('passed');
      await expect(station.retry(second!.unitId!)).rejects.toThrow(/is not a failed unit/);
    } finally {
      await station.close();
      await sim.stop();
      await other.stop();
      await emulator.stop();
    }
  });
});

describe('operator controls', () => {
  it('cancels the unit on one port mid-flash while the other port carries on', async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [serial(1), serial(2)], versions: [{ name: '1', firmware: { size: 2 * 1024 * 1024 } }] }] });
    const slow = await startSimulatorOnPty({ serial: serial(1), bootDelayMs: 20 });
    const fine = await startSimulatorOnPty({ serial: serial(2), bootDelayMs: 20 });
    const station = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }), dataDir: mkdtempSync(join(tmpdir(), 'cancel-')) });
    try {
      let cancelled = false;
      const outcomes = await station.provisionOnce([slow.path, fine.path], (event) => {
        if (!cancelled && event.type === 'progress' && event.step === 'flash' && event.port === slow.path && event.bytesDone > 256 * 1024) {
          cancelled = station.cancel(slow.path);
        }
      });
      expect(cancelled).toBe(true);
      expect(outcomes[0]).toMatchObject({ result: 'failed', failedStep: 'flash', errorCode: 'CANCELLED' });
      expect(outcomes[0]!.error).toContain('cancelled');
      // Recorded as cancelled, not failed; the record stays retryable.
      expect(station.journal.attempts({ serial: serial(1) })).toMatchObject([{ result: 'cancelled', failedStep: 'flash' }]);
      expect(station.journal.latestUnit(serial(1))?.result).toBe('failed');
      expect(outcomes[1]!.result).toBe('passed');
      expect(slow.simulator.version).toBeUndefined(); // the old image stays
      expect(station.cancel(slow.path)).toBe(false);
    } finally {
      await station.close();
      await slow.stop();
      await fine.stop();
      await emulator.stop();
    }
  });
});
