import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';

const serial = (n: number) => `THERM${String(n).padStart(14, '0')}`;
const SERIALS = [1, 2, 3, 4].map(serial);

/**
 * One activation answer is lost (the cloud acted, the connection dropped
 * before the answer) while the cloud is up the whole time: that is not an
 * outage, and the other ports must not notice it.
 */
describe('a lost activation answer on a 4-port batch', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function line(cloud: Record<string, unknown>) {
    const sims: PtySimulator[] = await Promise.all(SERIALS.map((serial) => startSimulatorOnPty({ serial, bootDelayMs: 20 })));
    cleanup.push(async () => void (await Promise.all(sims.map((sim) => sim.stop()))));
    const station = await Station.open({ config: lineConfigSchema.parse({ cloud }), dataDir: mkdtempSync(join(tmpdir(), 'lost-')), probeIntervalMs: 100 });
    cleanup.push(() => station.close());
    const connectivity: boolean[] = [];
    station.connectivity.onChange((online) => connectivity.push(online));
    const outcomes = await station.provisionOnce(sims.map((sim) => sim.path));
    return { sims, station, outcomes, connectivity };
  }

  it('GadgetKeeper: every unit passes, the affected one with the newest key, and the station never says offline', async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: SERIALS, versions: [{ name: '1.0', firmware: { size: 64 * 1024 } }] }] });
    cleanup.push(() => emulator.stop());
    emulator.addFault({ step: 'activate', kind: 'drop-after-effect' });
    const { sims, station, outcomes, connectivity } = await line({ backend: 'gadgetkeeper', url: emulator.url });

    expect(outcomes.map((o) => o.result)).toEqual(['passed', 'passed', 'passed', 'passed']);
    expect(connectivity).not.toContain(false);
    expect(station.connectivity.state).toBe('online');
    const keys = SERIALS.map((s) => emulator.state.thingsBySerial.get(s)!.issuedKeys.length);
    // The unit whose answer was lost was activated once more (the unseen key is revoked); the others once.
    expect(keys.sort()).toEqual([1, 1, 1, 2]);
    for (const [i, sim] of sims.entries()) {
      const thing = emulator.state.thingsBySerial.get(SERIALS[i]!)!;
      expect(sim.simulator.storedCredentials).toEqual({ thingId: thing.thingId, apiKey: thing.issuedKeys.at(-1) });
      expect(thing.currentVersionId).toBe(sim.simulator.version);
    }
  });

  it('Exosite: the other three pass; the affected unit fails saying the one-shot activation outcome is unknown and what to do', async () => {
    const emulator = await startExositeEmulator({ models: [{ vendor: 'acme', model: 'therm', serialNumbers: SERIALS, content: [{ id: 'fw.bin', firmware: { size: 64 * 1024 } }] }] });
    cleanup.push(() => emulator.stop());
    emulator.addFault({ step: 'activate', kind: 'drop-after-effect' });
    const { station, outcomes, connectivity } = await line({ backend: 'exosite', url: emulator.url, vendor: 'acme', model: 'therm' });

    expect(outcomes.filter((o) => o.result === 'passed')).toHaveLength(3);
    const [lost] = outcomes.filter((o) => o.result !== 'passed');
    expect(lost).toMatchObject({ result: 'failed', failedStep: 'activate', errorCode: 'CLOUD_OUTCOME_UNKNOWN' });
    expect(lost!.error).toContain(`the activation of ${lost!.serial} got no answer`);
    expect(lost!.error).toContain('ask the vendor to re-enable the serial number');
    expect(lost!.error).not.toContain('activates itself in the field');
    // One activation call per serial: the lost one is never repeated, and nothing waits in the outbox to repeat it.
    expect(emulator.calls.get('activate')).toBe(4);
    expect(station.journal.outboxCounts()).toMatchObject({ pending: 0, 'in-flight': 0 });
    expect(station.journal.latestUnit(lost!.serial!)).toMatchObject({ result: 'failed', failedStep: 'activate' });
    expect(connectivity).not.toContain(false);
  });
});
