import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import type { UnitOutcome } from '../../../main/core/engine/events.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { jsonFileSettingsStore } from '../../../main/core/desk/desk-settings.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { StationError } from '../../../main/core/errors.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';
import { smallDisk } from '../../helpers/small-disk.ts';
import { until } from '../../helpers/until.ts';

describe('a journal that cannot be written while the line runs', () => {
  it('stops the line with the journal error, instead of a worker dying unheard', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const disk = smallDisk();
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['UNIT-A', 'UNIT-B'], versions: [{ name: '1', firmware: { size: 4000 } }] }] });
    const socket = mkdtempSync(join(tmpdir(), 'socket-'));
    let sim = await startSimulatorOnPty({ serial: 'UNIT-A', bootDelayMs: 20 }, socket, 'line0');
    const station = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }), dataDir: disk.dir, autoReplay: false });
    const controller = new AbortController();
    const finished: UnitOutcome[] = [];
    const failedSteps: string[] = [];
    const line = station.runLine([sim.path], {
      signal: controller.signal,
      swapPollMs: 50,
      onEvent: (e) => {
        if (e.type === 'unit') finished.push(e);
        if (e.type === 'step' && e.status === 'failed') failedSteps.push(e.error ?? '');
      },
    });
    let settled: { error?: unknown } | undefined;
    void line.then(
      () => (settled = {}),
      (error: unknown) => (settled = { error }),
    );
    try {
      await until(() => finished.length === 1);
      expect(finished[0]).toMatchObject({ serial: 'UNIT-A', result: 'passed' });
      disk.fill();
      await sim.stop();
      await new Promise((resolve) => setTimeout(resolve, 200));
      sim = await startSimulatorOnPty({ serial: 'UNIT-B', bootDelayMs: 20 }, socket, 'line0');
      // The line ends by itself, with the journal's own words; nothing is left unhandled.
      await until(() => settled !== undefined, 20_000);
      expect(settled!.error).toBeInstanceOf(StationError);
      expect((settled!.error as StationError).code).toMatch(/^JOURNAL_/);
      const described = (settled!.error as StationError).describe();
      expect(described).toContain(`port ${sim.path}`);
      expect(described).toContain(`the disk holding ${disk.dir} is full`);
      // The port's tile says it too, rather than staying at a step "started".
      expect(failedSteps).toEqual([described]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      controller.abort();
      await line.catch(() => undefined);
      await station.close().catch(() => undefined);
      await sim.stop();
      await emulator.stop();
      disk.unmount();
    }
  });

  it('on a screen: the line shows stopped with the journal error, and Start starts it again', async () => {
    const disk = smallDisk();
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['UNIT-A', 'UNIT-B'], versions: [{ name: '1', firmware: { size: 4000 } }] }] });
    const socket = mkdtempSync(join(tmpdir(), 'socket-'));
    let sim = await startSimulatorOnPty({ serial: 'UNIT-A', bootDelayMs: 20 }, socket, 'line0');
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, ports: [sim.path] });
    const desk = new StationDesk({
      dataDir: disk.dir,
      settings: jsonFileSettingsStore(join(mkdtempSync(join(tmpdir(), 'desk-settings-')), 'settings.json')),
      secretKey: randomBytes(32),
      fixedConfig: { config, source: 'test' },
    });
    try {
      await desk.init();
      await desk.startLine();
      await until(() => desk.snapshot().header.shift.passed === 1);
      disk.fill();
      await sim.stop();
      // Gone for longer than the line's unplug poll (250 ms) before the next unit is plugged in.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      sim = await startSimulatorOnPty({ serial: 'UNIT-B', bootDelayMs: 20 }, socket, 'line0');
      await until(() => !desk.snapshot().header.lineRunning, 20_000);
      expect(desk.snapshot().header.problem).toContain(`the disk holding ${disk.dir} is full`);
      // Room again: Start runs the line again, and the unit that could not be recorded is provisioned.
      disk.free();
      await desk.startLine();
      expect(desk.snapshot().header.lineRunning).toBe(true);
      await until(() => desk.snapshot().header.shift.passed === 2);
    } finally {
      await desk.close(0);
      await sim.stop();
      await emulator.stop();
      disk.unmount();
    }
  });
});
