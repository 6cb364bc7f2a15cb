import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import type { StationEvent, UnitOutcome } from '../../../main/core/engine/events.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { StationError } from '../../../main/core/errors.ts';
import { openPort } from '../../../main/core/ports/open-port.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';
import { smallDisk } from '../../helpers/small-disk.ts';
import { makePtyPair } from '../../helpers/pty-pair.ts';
import { until } from '../../helpers/until.ts';

/**
 * `provisionOnce` (station run --once, a screen's per-port Start) stops as a
 * whole: at the first failure no unit record can hold, and on abort, where a
 * port still waiting for its turn has no unit and records nothing. Units
 * wait at a label-check prompt (no operator answers), so a port stays at
 * work for as long as the test needs it to.
 */
describe('provisionOnce, stopped', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function line(serials: string[], options: { dataDir?: string; concurrentPorts?: number } = {}) {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: serials, versions: [{ name: '1', firmware: { size: 4000 } }] }] });
    cleanup.push(() => emulator.stop());
    const sims: PtySimulator[] = [];
    for (const serial of serials) {
      const sim = await startSimulatorOnPty({ serial, bootDelayMs: 20 });
      cleanup.push(() => sim.stop());
      sims.push(sim);
    }
    const config = lineConfigSchema.parse({
      cloud: { backend: 'gadgetkeeper', url: emulator.url },
      labels: { check: { timeoutSeconds: 600 } },
      ...(options.concurrentPorts === undefined ? {} : { concurrency: { ports: options.concurrentPorts } }),
    });
    const station = await Station.open({ config, dataDir: options.dataDir ?? mkdtempSync(join(tmpdir(), 'once-stop-')), autoReplay: false });
    cleanup.push(() => station.close().catch(() => undefined));
    return { station, ports: sims.map((sim) => sim.path) };
  }

  it('a journal that cannot be written stops every port; the run rejects with the error once all have ended', { timeout: 90_000 }, async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanup.push(() => process.off('unhandledRejection', onUnhandled));
    const disk = smallDisk();
    cleanup.push(() => disk.unmount());
    const { station, ports } = await line(['UNIT-A', 'UNIT-B'], { dataDir: disk.dir });
    const [a, b] = ports as [string, string];
    const asked = new Set<string>();
    const failed: string[] = [];
    const run = station.provisionOnce(ports, (event: StationEvent) => {
      if (event.type === 'prompt' && event.prompt) asked.add(event.port);
      if (event.type === 'step' && event.status === 'failed') failed.push(`${event.port}: ${event.error}`);
    });
    // What was still at work the moment the run settled.
    let settled: { error?: unknown; busy: boolean[] } | undefined;
    void run.then(
      () => (settled = { busy: ports.map((port) => station.isBusy(port)) }),
      (error: unknown) => (settled = { error, busy: ports.map((port) => station.isBusy(port)) }),
    );
    await until(() => asked.size === 2, 30_000);
    // Both units have records and wait for their labels; then the disk fills, and A's label comes.
    disk.fill();
    station.answerOperator({ port: a, value: 'UNIT-A' });
    await until(() => settled !== undefined, 30_000);

    expect(settled!.error).toBeInstanceOf(StationError);
    const error = settled!.error as StationError;
    expect(error.code).toBe('JOURNAL_DISK_FULL');
    expect(error.describe()).toContain(`port ${a}, unit UNIT-A, step label-check: the journal`);
    expect(error.describe()).toContain(`the disk holding ${disk.dir} is full`);
    // B was cancelled, not left waiting for a label it could never record: no port is at work, B's port is closed.
    expect(settled!.busy).toEqual([false, false]);
    expect(failed.some((line) => line.startsWith(`${b}: `))).toBe(true);
    const reopened = await openPort(b);
    await reopened.close();
    expect(unhandled).toEqual([]);
  });

  it('aborted while some ports wait for their turn: those record nothing, the running ones record their units as cancelled', { timeout: 90_000 }, async () => {
    const { station, ports } = await line(['UNIT-A', 'UNIT-B', 'UNIT-C'], { concurrentPorts: 2 });
    const [a, b, c] = ports as [string, string, string];
    const asked = new Set<string>();
    const seen = new Set<string>();
    const controller = new AbortController();
    const run = station.provisionOnce(
      ports,
      (event: StationEvent) => {
        seen.add(event.port);
        if (event.type === 'prompt' && event.prompt) asked.add(event.port);
      },
      controller.signal,
    );
    // Two ports at work (waiting for their labels), the third waiting for its turn.
    await until(() => asked.size === 2, 30_000);
    expect([...asked].sort()).toEqual([a, b].sort());
    controller.abort();
    const outcomes: UnitOutcome[] = await run;

    expect(outcomes.map((outcome) => [outcome.port, outcome.serial, outcome.result, outcome.errorCode])).toEqual([
      [a, 'UNIT-A', 'failed', 'CANCELLED'],
      [b, 'UNIT-B', 'failed', 'CANCELLED'],
    ]);
    const attempts = station.history({ order: 'oldest' });
    expect(attempts.map((attempt) => [attempt.port, attempt.serial, attempt.result]).sort()).toEqual(
      [
        [a, 'UNIT-A', 'cancelled'],
        [b, 'UNIT-B', 'cancelled'],
      ].sort(),
    );
    // The port that never had its turn never started: no plan, no step, no unit on its tile.
    expect(seen.has(c)).toBe(false);
  });

  it('the continuous line keeps to concurrency.ports: a port starts its unit only once another has finished', { timeout: 90_000 }, async () => {
    const { station, ports } = await line(['UNIT-A', 'UNIT-B', 'UNIT-C'], { concurrentPorts: 2 });
    const order: string[] = [];
    const asked = new Set<string>();
    const started = new Set<string>();
    const controller = new AbortController();
    const run = station.runLine(ports, {
      signal: controller.signal,
      onEvent: (event: StationEvent) => {
        if (!started.has(event.port)) order.push(`start ${event.port}`);
        started.add(event.port);
        if (event.type === 'prompt' && event.prompt) asked.add(event.port);
        if (event.type === 'unit') order.push(`end ${event.port}`);
      },
    });
    // Two units at work, waiting for their labels; the third port waits for a place, not for a unit.
    await until(() => asked.size === 2, 30_000);
    const [first, second] = [...asked] as [string, string];
    const third = ports.find((port) => !asked.has(port))!;
    expect(started.has(third)).toBe(false);
    // Waiting for its place, the port is taken: a retry there would put a second unit on it.
    expect(station.isBusy(third)).toBe(true);
    expect(() => station.requireIdle(third)).toThrow(/waiting for its turn to take a unit \(concurrency\.ports\)/);

    // The first unit's label comes: it finishes, and only then does the third port start its unit.
    station.answerOperator({ port: first, value: first === ports[0] ? 'UNIT-A' : 'UNIT-B' });
    await until(() => asked.has(third), 30_000);
    expect(order.indexOf(`start ${third}`)).toBeGreaterThan(order.indexOf(`end ${first}`));

    controller.abort();
    const outcomes = await run;
    expect(outcomes.map((outcome) => [outcome.port, outcome.result]).sort()).toEqual(
      [
        [first, 'passed'],
        [second, 'failed'],
        [third, 'failed'],
      ].sort(),
    );
  });

  it('stopped while a port waits for a unit that never answers (an empty slot): no unit, no record, no outcome counted', { timeout: 90_000 }, async () => {
    const { station, ports } = await line(['UNIT-A']);
    const empty = await makePtyPair();
    cleanup.push(() => empty.dispose());
    const asked = new Set<string>();
    const identifying = new Set<string>();
    const ended: UnitOutcome[] = [];
    const controller = new AbortController();
    const run = station.provisionOnce(
      [ports[0]!, empty.a],
      (event: StationEvent) => {
        if (event.type === 'prompt' && event.prompt) asked.add(event.port);
        if (event.type === 'step' && event.step === 'identify' && event.status === 'started') identifying.add(event.port);
        if (event.type === 'unit') ended.push(event);
      },
      controller.signal,
    );
    // A's unit is at work; the empty slot is asking a unit that is not there.
    await until(() => asked.has(ports[0]!) && identifying.has(empty.a), 30_000);
    controller.abort();
    const outcomes: UnitOutcome[] = await run;

    // The empty slot's tile hears that it was stopped; the run's outcomes (what `station run` counts and exits by) hold only the unit.
    expect(ended.map((outcome) => [outcome.port, outcome.serial, outcome.errorCode]).sort()).toEqual([
      [empty.a, undefined, 'CANCELLED'],
      [ports[0], 'UNIT-A', 'CANCELLED'],
    ].sort());
    expect(outcomes.map((outcome) => [outcome.port, outcome.serial, outcome.errorCode])).toEqual([[ports[0], 'UNIT-A', 'CANCELLED']]);
    // Only the unit that was there has a record; the empty slot left no attempt without a serial.
    expect(station.history({ order: 'oldest' }).map((attempt) => [attempt.port, attempt.serial, attempt.result])).toEqual([[ports[0], 'UNIT-A', 'cancelled']]);
  });

  it('a line started while a port has a unit at work (a retry, a port started alone) leaves it to finish: one unit per port', { timeout: 90_000 }, async () => {
    const { station, ports } = await line(['UNIT-A', 'UNIT-B']);
    const [a, b] = ports as [string, string];
    const plansOnA: string[] = [];
    const asked = new Set<string>();
    const ended: UnitOutcome[] = [];
    const onEvent = (event: StationEvent) => {
      if (event.type === 'plan' && event.port === a) plansOnA.push(event.port);
      if (event.type === 'prompt' && event.prompt) asked.add(event.port);
      if (event.type === 'unit') ended.push(event);
    };
    // A's unit, started on its own, waits for its label.
    const alone = station.provisionOnce([a], onEvent);
    await until(() => asked.has(a), 30_000);
    // The line starts: B takes its unit; A does not get a second one beside the first.
    const controller = new AbortController();
    const running = station.runLine(ports, { signal: controller.signal, onEvent });
    await until(() => asked.has(b), 30_000);
    expect(plansOnA).toHaveLength(1);
    // A's first unit finishes; it is still plugged in, so the line waits for the next one there.
    station.answerOperator({ port: a, value: 'UNIT-A' });
    expect((await alone).map((outcome) => [outcome.port, outcome.result])).toEqual([[a, 'passed']]);
    controller.abort();
    await running;
    expect(plansOnA).toHaveLength(1);
    expect(station.history({ order: 'oldest' }).filter((attempt) => attempt.port === a).map((attempt) => attempt.result)).toEqual(['passed']);
  });
});
