import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';
import { until } from '../../helpers/until.ts';

const UNIT = 'THERM00000000000042';

/**
 * Exosite activates a serial number once. A cancel (the operator's, or a
 * stopped line) that cut off the activation in flight left the CIK the cloud
 * issued unseen by the station, and the unit locked out until the vendor
 * re-enables it.
 */
describe('a cancel while a one-shot activation is in flight', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('lets the activation answer and keeps the CIK: the unit is cancelled, and its retry needs no second activation', { timeout: 60_000 }, async () => {
    const cloud = await startExositeEmulator({ models: [{ vendor: 'acme', model: 'therm', serialNumbers: [UNIT], content: [{ id: 'fw-2.bin', firmware: { size: 8 * 1024 } }] }] });
    cleanup.push(() => cloud.stop());
    const station = await Station.open({
      config: lineConfigSchema.parse({ cloud: { backend: 'exosite', url: cloud.url, vendor: 'acme', model: 'therm' } }),
      dataDir: mkdtempSync(join(tmpdir(), 'cancel-activate-')),
    });
    cleanup.push(() => station.close());
    const sim = await startSimulatorOnPty({ serial: UNIT, bootDelayMs: 20 });
    cleanup.push(() => sim.stop());

    // The cloud takes a while to answer the activation; the line is stopped once the cloud has it (not at a fixed
    // time after the step starts: on a busy machine the unit's check before the call may take longer than that).
    cloud.addFault({ step: 'activate', kind: 'latency', ms: 3000 });
    const stop = new AbortController();
    const [cancelled] = await station.provisionOnce(
      [sim.path],
      (event) => {
        if (event.type === 'step' && event.step === 'activate' && event.status === 'started') void until(() => cloud.calls.get('activate') === 1).then(() => stop.abort());
      },
      stop.signal,
    );
    expect(cancelled).toMatchObject({ serial: UNIT, errorCode: 'CANCELLED' });
    expect(cloud.calls.get('activate')).toBe(1);
    expect(station.journal.credentials(cancelled!.unitId!)).toMatchObject({ thingId: UNIT, apiKey: expect.stringMatching(/^[0-9a-f]{40}$/) });

    const retried = await station.retry(cancelled!.unitId!);
    expect(retried, retried.error).toMatchObject({ serial: UNIT, result: 'passed' });
    expect(cloud.calls.get('activate')).toBe(1);
  });
});
