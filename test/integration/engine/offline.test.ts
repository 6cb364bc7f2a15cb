import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import type { StationEvent } from '../../../main/core/engine/events.ts';
import { Station, type StationNotice } from '../../../main/core/engine/station.ts';
import { until } from '../../helpers/until.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';

const serial = (n: number) => `THERM${String(n).padStart(14, '0')}`;


describe('offline operation and the outbox (GadgetKeeper)', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  let station: Station | undefined;
  const sims: PtySimulator[] = [];
  afterEach(async () => {
    await station?.close();
    station = undefined;
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
  });

  it('keeps passing units offline from the cache, drains the outbox by itself, and owes replugged units their keys', async () => {
    emulator = await startGadgetKeeperEmulator({
      products: [{ name: 'Thermometer', serialNumbers: Array.from({ length: 10 }, (_, i) => serial(i + 1)), versions: [{ name: '2.0.0', firmware: { size: 64 * 1024 } }] }],
    });
    for (let i = 1; i <= 5; i++) sims.push(await startSimulatorOnPty({ serial: serial(i), bootDelayMs: 20 }));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url, timeoutMs: 2000 }, thingNameTemplate: 'ThermometerDevice-{serial}' });
    station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'offline-')), probeIntervalMs: 100 });
    const ports = sims.map((sim) => sim.path);

    // Online: the first units pass and the firmware lands in the cache.
    const first = await station.provisionOnce(ports.slice(0, 2));
    expect(first.map((o) => o.result)).toEqual(['passed', 'passed']);
    const target = first[0]!.versionId!;

    // The factory's internet drops mid-batch.
    emulator.setOffline(true);
    const offline = await station.provisionOnce(ports.slice(2));
    expect(offline.map((o) => o.result)).toEqual(['pending', 'pending', 'pending']);
    for (const sim of sims.slice(2)) {
      expect(sim.simulator.version).toBe(target); // flashed from the cache
      expect(sim.simulator.storedCredentials).toBeUndefined(); // no key to give yet
    }
    expect(station.connectivity.online).toBe(false);
    expect(station.journal.outboxCounts().pending).toBe(9); // activate, rename, confirm for each
    expect(emulator.calls.get('download')).toBe(1);

    // Back online: the outbox drains by itself, and the station announces each unit it settles (no one polls for it).
    const notices: StationNotice[] = [];
    station.onNotice((notice) => notices.push(notice));
    emulator.setOffline(false);
    await until(() => {
      const counts = station!.journal.outboxCounts();
      return counts.pending + counts['in-flight'] === 0;
    });
    expect(station.connectivity.online).toBe(true);
    await until(() => notices.filter((notice) => notice.type === 'unit-settled').length === 3);
    expect(notices.filter((notice) => notice.type === 'unit-settled').map((notice) => (notice as { unit: { serial: string; result: string } }).unit).map((unit) => [unit.serial, unit.result]).sort()).toEqual([
      [serial(3), 'pending'],
      [serial(4), 'pending'],
      [serial(5), 'pending'],
    ]);
    expect(notices).toContainEqual({ type: 'cloud', state: 'online' });
    expect(station.outboxWaiting()).toBe(0);
    for (let i = 1; i <= 5; i++) {
      const thing = emulator.state.thingsBySerial.get(serial(i))!;
      expect(thing.currentVersionId).toBe(target);
      expect(thing.name).toBe(`ThermometerDevice-${serial(i)}`);
      expect(thing.issuedKeys).toHaveLength(1);
    }
    for (let i = 3; i <= 5; i++) expect(station.journal.latestUnit(serial(i))).toMatchObject({ result: 'pending', credentialsState: 'pending', versionId: target });

    // Plugged in again: the station writes the key it holds, without a new activation or a new record.
    const replugged = await station.provisionOnce(ports.slice(2));
    expect(replugged.map((o) => o.result)).toEqual(['passed', 'passed', 'passed']);
    for (let i = 3; i <= 5; i++) {
      const thing = emulator.state.thingsBySerial.get(serial(i))!;
      expect(sims[i - 1]!.simulator.storedCredentials).toEqual({ thingId: thing.thingId, apiKey: thing.apiKey });
      expect(thing.issuedKeys).toHaveLength(1);
      expect(station.journal.latestUnit(serial(i))).toMatchObject({ result: 'passed', credentialsState: 'written' });
    }
    expect(station.journal.units()).toHaveLength(5);
    expect(sims[2]!.simulator.flashCount).toBe(1);
  });

  it('a unit that needs the cloud waits for it (bounded), says so, and then says plainly why it failed', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [serial(1)], versions: [{ name: '1', firmware: { size: 1000 } }] }] });
    sims.push(await startSimulatorOnPty({ serial: serial(1) }));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, offline: { waitForCloudSeconds: 1 } });
    station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'offline-')), probeIntervalMs: 100 });
    emulator.setOffline(true);
    const events: StationEvent[] = [];
    const started = Date.now();
    const [outcome] = await station.provisionOnce([sims[0]!.path], (event) => events.push(event));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(events.find((event) => event.type === 'waiting')).toMatchObject({ step: 'activate', reason: expect.stringContaining('never learned the target version') });
    expect(outcome).toMatchObject({ result: 'failed', failedStep: 'activate', errorCode: 'OFFLINE_NO_TARGET' });
    expect(outcome!.error).toContain('the cloud cannot be reached and the station has never learned the target version; waited 1 s for the cloud to come back');
    // Nothing was queued: an activation nobody could finish would only burn a key.
    expect(station.journal.outboxCounts()).toMatchObject({ pending: 0, failed: 0 });
  });

  it('a unit that needs the cloud waits for it and passes when it comes back', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [serial(1)], versions: [{ name: '1', firmware: { size: 1000 } }] }] });
    sims.push(await startSimulatorOnPty({ serial: serial(1), bootDelayMs: 20 }));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, offline: { waitForCloudSeconds: 60 } });
    station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'offline-')), probeIntervalMs: 100 });
    emulator.setOffline(true);
    const events: StationEvent[] = [];
    const running = station.provisionOnce([sims[0]!.path], (event) => {
      events.push(event);
      // The cloud comes back while the unit waits for it.
      if (event.type === 'waiting') emulator!.setOffline(false);
    });
    const [outcome] = await running;
    expect(events.filter((event) => event.type === 'waiting')).toHaveLength(1);
    expect(outcome).toMatchObject({ result: 'passed' });
    expect(emulator.state.thingsBySerial.get(serial(1))!.issuedKeys).toHaveLength(1);
  });

  it('a probe that answers after the station closed replays nothing and throws nowhere', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [serial(1)], versions: [{ name: '1', firmware: { size: 1000 } }] }] });
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } });
    const closing = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'offline-')), probeIntervalMs: 100 });
    // The probe (GET / is no known resource) is held while the station closes.
    emulator.addFault({ step: 'unknown', kind: 'latency', ms: 300 });
    const answered = new Promise<void>((resolve) => closing.connectivity.onChange(() => resolve()));
    const probe = closing.connectivity.confirm();
    await closing.close();
    await expect(probe).resolves.toBe(true);
    await answered;
    // The station's own listener heard 'online' too and asked for a replay of a closed journal: without a guard that
    // rejection is unhandled and fails this run. Give it the turn it needs to surface.
    await new Promise((resolve) => setImmediate(resolve));
  });
});

describe('offline operation with Fleet Freedom and Exosite', () => {
  const sims: PtySimulator[] = [];
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
  });

  // Three units, an outage and a replay with a retried call: seconds when idle, much longer on a busy machine.
  it('Fleet Freedom: mergeProvider waits in the outbox and replays; a duplicate from a lost answer counts as done', { timeout: 120_000 }, async () => {
    const { startFleetFreedomEmulator } = await import('../../../main/core/cloud/fleetfreedom/emulator.ts');
    const { writeFileSync } = await import('node:fs');
    const ff = await startFleetFreedomEmulator({ companies: [{ id: 7, name: 'Fleet' }], users: [{ username: 'line', password: 'pw', companies: [7] }] }, { connectionDelayMs: 5 });
    closers.push(() => ff.stop());
    const dir = mkdtempSync(join(tmpdir(), 'ff-'));
    writeFileSync(join(dir, 'fw.bin'), Buffer.alloc(20_000, 7));
    for (let i = 1; i <= 3; i++) sims.push(await startSimulatorOnPty({ serial: serial(i), bootDelayMs: 20 }));
    const config = lineConfigSchema.parse({
      cloud: { backend: 'fleetfreedom', url: ff.url, username: 'line', password: 'pw', company: 7, providerKind: 'json' },
      firmware: { source: 'file', path: join(dir, 'fw.bin'), versionId: 'fw-3.0' },
    });
    const station = await Station.open({ config, dataDir: join(dir, 'data'), probeIntervalMs: 100 });
    closers.push(() => station.close());

    expect((await station.provisionOnce([sims[0]!.path]))[0]!.result).toBe('passed');
    ff.setOffline(true);
    const offline = await station.provisionOnce(sims.slice(1).map((sim) => sim.path));
    expect(offline.map((o) => o.result)).toEqual(['pending', 'pending']);
    expect(sims[1]!.simulator.version).toBe('fw-3.0');
    // The first replayed answer is lost after the provider was created: the repeat finds it existing.
    ff.addFault({ command: 'mergeProvider', kind: 'drop-after-effect' });
    ff.setOffline(false);
    await until(() => station.journal.outboxCounts().done === 2, 90_000);
    expect(ff.created).toBe(3);
    expect([...ff.providers.keys()].sort()).toEqual([serial(1), serial(2), serial(3)]);
    for (let i = 2; i <= 3; i++) expect(station.journal.latestUnit(serial(i))?.result).toBe('passed');
  });

  it('Exosite: offline, the unit is flashed but never activated later without it, and the record says so', async () => {
    const { startExositeEmulator } = await import('../../../main/core/cloud/exosite/emulator.ts');
    const exo = await startExositeEmulator({ models: [{ vendor: 'acme', model: 'therm', serialNumbers: [serial(1), serial(2)], content: [{ id: 'fw.bin', firmware: { size: 30_000 } }] }] });
    closers.push(() => exo.stop());
    for (let i = 1; i <= 2; i++) sims.push(await startSimulatorOnPty({ serial: serial(i), bootDelayMs: 20 }));
    const config = lineConfigSchema.parse({ cloud: { backend: 'exosite', url: exo.url, vendor: 'acme', model: 'therm', timeoutMs: 2000 } });
    const station = await Station.open({ config, dataDir: mkdtempSync(join(tmpdir(), 'exo-')), probeIntervalMs: 100 });
    closers.push(() => station.close());

    expect((await station.provisionOnce([sims[0]!.path]))[0]!.result).toBe('passed');
    expect(exo.state.aliasOf('acme', 'therm', serial(1), 'fw_version')).toBe('fw.bin');
    exo.setOffline(true);
    const [outcome] = await station.provisionOnce([sims[1]!.path]);
    expect(outcome!.result).toBe('passed');
    expect(sims[1]!.simulator.version).toBe('fw.bin');
    expect(sims[1]!.simulator.storedCredentials).toBeUndefined();
    const activate = station.journal.stepEvents(outcome!.unitId!).find((e) => e.step === 'activate' && e.status === 'skipped');
    expect(activate?.detail).toContain('Exosite activation is one-shot and never replayed without the unit; the unit activates itself in the field');
    exo.setOffline(false);
    await station.replayer.drain();
    expect(station.journal.outboxCounts()).toMatchObject({ pending: 0, done: 0 });
    expect(exo.state.activations.get(serial(2))).toBeUndefined();
  });
});
