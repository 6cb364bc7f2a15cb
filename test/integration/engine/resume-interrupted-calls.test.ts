import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';
import { until } from '../../helpers/until.ts';

const UNIT = 'THERM00000000000007';

/**
 * A unit whose calls went to the outbox (the cloud was out of reach) and
 * whose attempt never ended (the station was killed, or its disk filled) is
 * started over when it comes back. Its interrupted attempt's calls were never
 * sent (the outbox holds a unit's calls while it is at work), and the new
 * attempt makes them again.
 */
describe('a unit resumed after its attempt was cut off with calls in the outbox', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('is activated once: the interrupted attempt\'s activation is not replayed over the key the unit now holds', { timeout: 60_000 }, async () => {
    const cloud = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [UNIT], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    cleanup.push(() => cloud.stop());
    const sim = await startSimulatorOnPty({ serial: UNIT, bootDelayMs: 20 });
    cleanup.push(() => sim.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'resume-calls-'));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: cloud.url } });

    // What the station left behind: the unit at work, its activation queued while the cloud was out of reach, no end.
    const before = await Station.open({ config, dataDir, autoReplay: false });
    const cut = before.journal.startUnit(UNIT, sim.path);
    before.journal.recordStep(cut.id, 'identify', 'done');
    before.journal.recordStep(cut.id, 'activate', 'started');
    before.journal.enqueue(cut.id, before.adapter.backend.id, 'activate', { serial: UNIT }, before.adapter.account);
    before.journal.recordStep(cut.id, 'activate', 'skipped', { detail: 'queued for replay when the cloud is back' });
    await before.close();

    // Started again, the cloud answering: the unit comes back and goes through.
    const station = await Station.open({ config, dataDir, probeIntervalMs: 50 });
    cleanup.push(() => station.close());
    const [outcome] = await station.provisionOnce([sim.path]);
    expect(outcome, outcome?.error).toMatchObject({ serial: UNIT, result: 'passed', unitId: cut.id });
    // Calls of the cut-off attempt still queued would be replayed before this holds.
    await until(() => station.outboxWaiting() === 0);

    const thing = cloud.state.thingsBySerial.get(UNIT)!;
    expect(thing.issuedKeys).toHaveLength(1);
    expect(sim.simulator.storedCredentials).toEqual({ thingId: thing.thingId, apiKey: thing.apiKey });
    expect(station.journal.unit(cut.id)).toMatchObject({ result: 'passed', credentialsState: 'written' });
  });

  it('plugged in again while its calls still wait for the cloud: activated once, with the key it holds', { timeout: 60_000 }, async () => {
    const other = 'THERM00000000000008';
    const cloud = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [UNIT, other], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    cleanup.push(() => cloud.stop());
    const sims = [await startSimulatorOnPty({ serial: other, bootDelayMs: 20 }), await startSimulatorOnPty({ serial: UNIT, bootDelayMs: 20 })];
    cleanup.push(() => Promise.all(sims.map((sim) => sim.stop())));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: cloud.url, timeoutMs: 2000 } });
    const station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'replug-calls-')), autoReplay: false });
    cleanup.push(() => station.close());
    // The target and its firmware are known; then the internet drops and the unit passes with its calls queued.
    expect((await station.provisionOnce([sims[0]!.path]))[0]).toMatchObject({ result: 'passed' });
    cloud.setOffline(true);
    const [offline] = await station.provisionOnce([sims[1]!.path]);
    expect(offline).toMatchObject({ serial: UNIT, result: 'pending' });

    // The cloud is back but busy: the queued activation is answered 503, and waits to be tried again.
    cloud.addFault({ step: 'activate', kind: 'status', status: 503 });
    cloud.setOffline(false);
    await station.connectivity.confirm();
    await until(() => station.journal.outboxEntries().some((entry) => entry.call === 'activate' && entry.state === 'pending' && entry.attempts === 1));
    expect(cloud.calls.get('activate')).toBe(2);
    // Meanwhile the unit is plugged in again, and goes through with the cloud.
    const [again] = await station.provisionOnce([sims[1]!.path]);
    expect(again, again?.error).toMatchObject({ serial: UNIT, result: 'passed' });
    await station.replayOutboxNow();
    expect(station.outboxWaiting()).toBe(0);

    const thing = cloud.state.thingsBySerial.get(UNIT)!;
    expect(thing.issuedKeys).toHaveLength(1);
    expect(sims[1]!.simulator.storedCredentials).toEqual({ thingId: thing.thingId, apiKey: thing.apiKey });
    expect(station.journal.latestUnit(UNIT)).toMatchObject({ result: 'passed', credentialsState: 'written' });
  });

  it('plugged in again while its queued activation is being sent: waits for its answer and takes that key, no second activation', { timeout: 60_000 }, async () => {
    const other = 'THERM00000000000008';
    const cloud = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [UNIT, other], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    cleanup.push(() => cloud.stop());
    const sims = [await startSimulatorOnPty({ serial: other, bootDelayMs: 20 }), await startSimulatorOnPty({ serial: UNIT, bootDelayMs: 20 })];
    cleanup.push(() => Promise.all(sims.map((sim) => sim.stop())));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: cloud.url, timeoutMs: 10_000 } });
    const station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'replug-in-flight-')), autoReplay: false });
    cleanup.push(() => station.close());
    expect((await station.provisionOnce([sims[0]!.path]))[0]).toMatchObject({ result: 'passed' });
    cloud.setOffline(true);
    const [offline] = await station.provisionOnce([sims[1]!.path]);
    expect(offline).toMatchObject({ serial: UNIT, result: 'pending' });

    // The cloud is back and slow: the queued activation is at the cloud, its answer not yet back, when the unit is plugged in again.
    cloud.setOffline(false);
    await station.connectivity.confirm();
    cloud.addFault({ step: 'activate', kind: 'latency', ms: 3000 });
    const replayed = station.replayOutboxNow();
    await until(() => cloud.calls.get('activate') === 2);
    const [again] = await station.provisionOnce([sims[1]!.path]);
    await replayed;
    expect(again, again?.error).toMatchObject({ serial: UNIT, result: 'passed', unitId: offline!.unitId });

    const thing = cloud.state.thingsBySerial.get(UNIT)!;
    expect(thing.issuedKeys).toHaveLength(1);
    expect(sims[1]!.simulator.storedCredentials).toEqual({ thingId: thing.thingId, apiKey: thing.apiKey });
    expect(station.journal.unit(offline!.unitId!)).toMatchObject({ result: 'passed', credentialsState: 'written' });
    expect(station.journal.credentials(offline!.unitId!)).toMatchObject({ thingId: thing.thingId, apiKey: thing.apiKey });
  });
});
