import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';

const UNIT_X = 'THERM00000000000011';
const UNIT_Y = 'THERM00000000000022';
const IMAGE_BYTES = 384 * 1024;

/**
 * A unit refused at identify (the wrong unit on the port for a retry, a
 * serial number already at work on another port) gets a failed record of its
 * own. That record holds nothing, and must not hide the unit's real record:
 * on Exosite activation works once, so credentials the station holds for the
 * unit are its only ones.
 */
describe('a unit refused at identify keeps the credentials its earlier record holds', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('the wrong unit on the port for a retry, then run on its own: its held credentials are delivered, no second activation', { timeout: 60_000 }, async () => {
    const cloud = await startExositeEmulator({ models: [{ vendor: 'acme', model: 'therm', serialNumbers: [UNIT_X, UNIT_Y], content: [{ id: 'fw-2.bin', firmware: { size: IMAGE_BYTES } }] }] });
    cleanup.push(() => cloud.stop());
    const station = await Station.open({
      config: lineConfigSchema.parse({ cloud: { backend: 'exosite', url: cloud.url, vendor: 'acme', model: 'therm' } }),
      dataDir: mkdtempSync(join(tmpdir(), 'refused-')),
    });
    cleanup.push(() => station.close());
    // One socket on the bench: each unit plugged in there gets the same port path.
    const bench = mkdtempSync(join(tmpdir(), 'bench-'));
    let plugged: PtySimulator | undefined;
    cleanup.push(async () => plugged?.stop());
    const plugIn = async (serial: string, unplugMidFlash: boolean) => {
      await plugged?.stop();
      plugged = await startSimulatorOnPty({ serial, bootDelayMs: 20, ...(unplugMidFlash ? { faults: { hangUpAfterBytes: 100 * 1024 } } : {}) }, bench, 'slot');
      return plugged.path;
    };

    // Y and then X are activated and unplugged mid-flash: the station holds each one's credentials.
    const [yFailed] = await station.provisionOnce([await plugIn(UNIT_Y, true)]);
    expect(yFailed).toMatchObject({ serial: UNIT_Y, result: 'failed', failedStep: 'flash' });
    const [xFailed] = await station.provisionOnce([await plugIn(UNIT_X, true)]);
    expect(xFailed).toMatchObject({ serial: UNIT_X, result: 'failed', failedStep: 'flash' });
    expect(cloud.calls.get('activate')).toBe(2);

    // The operator retries X, but Y is the unit on the port: refused.
    const port = await plugIn(UNIT_Y, false);
    const wrong = await station.retry(xFailed!.unitId!);
    expect(wrong).toMatchObject({ result: 'failed', failedStep: 'identify', errorCode: 'RETRY_WRONG_UNIT' });

    // Y run as itself: it gets the credentials the station has held for it since its first activation.
    const [yPassed] = await station.provisionOnce([port]);
    expect(yPassed, yPassed?.error).toMatchObject({ serial: UNIT_Y, result: 'passed' });
    expect(cloud.calls.get('activate')).toBe(2);
    expect(plugged!.simulator.storedCredentials?.thingId).toBe(UNIT_Y);
    expect(station.journal.credentials(yPassed!.unitId!)).toMatchObject(plugged!.simulator.storedCredentials!);
  });
});
