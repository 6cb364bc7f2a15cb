import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';
import { useCleanup } from '../../helpers/cleanup.ts';
import { until } from '../../helpers/until.ts';

const serial = (n: number) => `THERM${String(n).padStart(14, '0')}`;

describe('a listener that throws (a screen\'s bug)', () => {
  const cleanup = useCleanup();

  /** A station on the GadgetKeeper emulator with `units` simulated units on ptys, replaying its outbox only when told. */
  async function line(units: number) {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: Array.from({ length: units }, (_, i) => serial(i + 1)), versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    cleanup.push(() => emulator.stop());
    const sims = [];
    for (let n = 1; n <= units; n++) {
      const sim = await startSimulatorOnPty({ serial: serial(n), bootDelayMs: 20 });
      cleanup.push(() => sim.stop());
      sims.push(sim);
    }
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url, timeoutMs: 2000 } });
    const station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'listener-')), probeIntervalMs: 100, autoReplay: false });
    cleanup.push(() => station.close());
    return { emulator, sims, station };
  }

  it('on station notices changes no record: calls the cloud took are done, and the unit stays as they left it', async () => {
    const { emulator, sims, station } = await line(2);
    // The target and its firmware are known, then the internet drops: the unit passes with its calls in the outbox.
    const [online] = await station.provisionOnce([sims[0]!.path]);
    expect(online!.result).toBe('passed');
    emulator.setOffline(true);
    const [offline] = await station.provisionOnce([sims[1]!.path]);
    expect(offline).toMatchObject({ result: 'pending' });
    expect(station.outboxWaiting()).toBeGreaterThan(0);

    let heard = 0;
    station.onNotice(() => {
      heard++;
      throw new Error('a screen listener failed');
    });
    emulator.setOffline(false);
    // Neither the operator's "replay now" nor the cloud's state hears of the listener's failure.
    await station.replayOutboxNow();
    expect(station.cloudState).toBe('online');
    await until(() => station.outboxWaiting() === 0);
    expect(heard).toBeGreaterThan(0);
    expect(station.journal.outboxCounts()).toMatchObject({ failed: 0 });
    expect(station.journal.unit(offline!.unitId!)).toMatchObject({ result: 'pending', credentialsState: 'pending', error: undefined });
  });

  it('on unit events neither fails the unit nor stops the line: the record says what happened to the unit', async () => {
    const { sims, station } = await line(1);
    let heard = 0;
    const [outcome] = await station.provisionOnce([sims[0]!.path], () => {
      heard++;
      throw new Error('a screen listener failed');
    });
    expect(heard).toBeGreaterThan(5);
    expect(outcome).toMatchObject({ result: 'passed', serial: serial(1) });
    expect(sims[0]!.simulator.version).toBe(outcome!.versionId);
    expect(station.journal.latestUnit(serial(1))).toMatchObject({ result: 'passed', credentialsState: 'written' });
  });
});
