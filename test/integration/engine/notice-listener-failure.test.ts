import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';
import { until } from '../../helpers/until.ts';

const serial = (n: number) => `THERM${String(n).padStart(14, '0')}`;

describe('a station notice listener that throws', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  let station: Station | undefined;
  const sims: PtySimulator[] = [];
  afterEach(async () => {
    await station?.close();
    station = undefined;
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
  });

  it('changes no record: calls the cloud took are done, and the unit stays as they left it', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [serial(1), serial(2)], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    for (const n of [1, 2]) sims.push(await startSimulatorOnPty({ serial: serial(n), bootDelayMs: 20 }));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url, timeoutMs: 2000 } });
    station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'notice-')), probeIntervalMs: 100, autoReplay: false });
    // The target and its firmware are known, then the internet drops: the unit passes with its calls in the outbox.
    const [online] = await station.provisionOnce([sims[0]!.path]);
    expect(online!.result).toBe('passed');
    emulator.setOffline(true);
    const [offline] = await station.provisionOnce([sims[1]!.path]);
    expect(offline).toMatchObject({ result: 'pending' });
    expect(station.outboxWaiting()).toBeGreaterThan(0);

    // A screen's listener with a bug: it throws at every notice.
    let heard = 0;
    station.onNotice(() => {
      heard++;
      throw new Error('a screen listener failed');
    });
    emulator.setOffline(false);
    // Neither the operator's "replay now" nor the cloud's state hears of the listener's failure.
    await station.replayOutboxNow();
    expect(station.cloudState).toBe('online');
    await until(() => station!.outboxWaiting() === 0);
    expect(heard).toBeGreaterThan(0);
    expect(station.journal.outboxCounts()).toMatchObject({ failed: 0 });
    expect(station.journal.unit(offline!.unitId!)).toMatchObject({ result: 'pending', credentialsState: 'pending', error: undefined });
  });
});

describe('a unit event listener that throws', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  let station: Station | undefined;
  const sims: PtySimulator[] = [];
  afterEach(async () => {
    await station?.close();
    station = undefined;
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
  });

  it('neither fails the unit nor stops the line: the record says what happened to the unit', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [serial(1)], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    sims.push(await startSimulatorOnPty({ serial: serial(1), bootDelayMs: 20 }));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url, timeoutMs: 2000 } });
    station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'events-')), probeIntervalMs: 100, autoReplay: false });
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
