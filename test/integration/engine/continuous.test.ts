import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import type { UnitOutcome } from '../../../main/core/engine/events.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { until } from '../../helpers/until.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';


describe('continuous line', () => {
  it('provisions the next unit when one is unplugged and another plugged into the same port', async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['UNIT-A', 'UNIT-B'], versions: [{ name: '1', firmware: { size: 4000 } }] }] });
    const socket = mkdtempSync(join(tmpdir(), 'socket-'));
    let sim = await startSimulatorOnPty({ serial: 'UNIT-A', bootDelayMs: 20 }, socket, 'line0');
    const station = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }), dataDir: mkdtempSync(join(tmpdir(), 'cont-')) });
    const controller = new AbortController();
    const finished: UnitOutcome[] = [];
    const line = station.runLine([sim.path], { signal: controller.signal, swapPollMs: 50, onEvent: (e) => (e.type === 'unit' ? finished.push(e) : undefined) });
    try {
      await until(() => finished.length === 1);
      expect(finished[0]).toMatchObject({ serial: 'UNIT-A', result: 'passed' });
      // The unit stays plugged in: nothing more happens.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(finished).toHaveLength(1);
      // Swap it for the next one.
      await sim.stop();
      await new Promise((resolve) => setTimeout(resolve, 200));
      sim = await startSimulatorOnPty({ serial: 'UNIT-B', bootDelayMs: 20 }, socket, 'line0');
      await until(() => finished.length === 2);
      expect(finished[1]).toMatchObject({ serial: 'UNIT-B', result: 'passed' });
    } finally {
      controller.abort();
      const outcomes = await line;
      expect(outcomes.map((o) => o.serial)).toEqual(['UNIT-A', 'UNIT-B']);
      await station.close();
      await sim.stop();
      await emulator.stop();
    }
  });

  it('a line stopped and started again does not provision the unit it finished, and takes the one swapped in while it was stopped', async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['UNIT-A', 'UNIT-B'], versions: [{ name: '1', firmware: { size: 4000 } }] }] });
    const socket = mkdtempSync(join(tmpdir(), 'socket-'));
    let sim = await startSimulatorOnPty({ serial: 'UNIT-A', bootDelayMs: 20 }, socket, 'line0');
    const station = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }), dataDir: mkdtempSync(join(tmpdir(), 'restart-')) });
    const started: string[] = [];
    const finished: UnitOutcome[] = [];
    const onEvent = (e: Parameters<NonNullable<Parameters<Station['runLine']>[1]['onEvent']>>[0]) => (e.type === 'plan' ? started.push(e.port) : e.type === 'unit' ? finished.push(e) : undefined);
    const run = () => {
      const controller = new AbortController();
      return { controller, line: station.runLine([sim.path], { signal: controller.signal, swapPollMs: 50, onEvent }) };
    };
    try {
      let current = run();
      await until(() => finished.length === 1);
      current.controller.abort();
      await current.line;
      // Started again with the same unit plugged in: it is looked at, found done, and left alone.
      current = run();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(started).toHaveLength(1);
      expect(station.journal.attempts()).toHaveLength(1);
      current.controller.abort();
      await current.line;
      // Stopped, a unit is swapped in: the next start provisions it.
      await sim.stop();
      sim = await startSimulatorOnPty({ serial: 'UNIT-B', bootDelayMs: 20 }, socket, 'line0');
      current = run();
      await until(() => finished.length === 2);
      expect(finished.map((o) => [o.serial, o.result])).toEqual([
        ['UNIT-A', 'passed'],
        ['UNIT-B', 'passed'],
      ]);
      current.controller.abort();
      await current.line;
    } finally {
      await station.close();
      await sim.stop();
      await emulator.stop();
    }
  });
});

describe('continuous line and a retry on the same port', () => {
  it('a retry started as the unit is plugged in again is the only unit at work on its port', async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['UNIT-A'], versions: [{ name: '1', firmware: { size: 4000 } }] }] });
    const socket = mkdtempSync(join(tmpdir(), 'socket-'));
    let sim = await startSimulatorOnPty({ serial: 'UNIT-A', bootDelayMs: 20 }, socket, 'line0');
    const station = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }), dataDir: mkdtempSync(join(tmpdir(), 'retry-race-')) });
    const starts: string[] = [];
    const finished: UnitOutcome[] = [];
    const onEvent = (e: Parameters<NonNullable<Parameters<Station['runLine']>[1]['onEvent']>>[0]) => (e.type === 'plan' ? starts.push(e.port) : e.type === 'unit' ? finished.push(e) : undefined);
    // The cloud refuses the first activation: the unit fails, and the line waits for the next one on its port.
    emulator.addFault({ step: 'activate', kind: 'status', status: 403 });
    const controller = new AbortController();
    const line = station.runLine([sim.path], { signal: controller.signal, swapPollMs: 50, onEvent });
    try {
      await until(() => finished.length === 1);
      expect(finished[0]).toMatchObject({ serial: 'UNIT-A', result: 'failed', failedStep: 'activate' });
      // The operator plugs the unit in again and presses Retry at once; the cloud is slow to answer the retry's activation.
      emulator.addFault({ step: 'activate', kind: 'latency', ms: 2000 });
      await sim.stop();
      await new Promise((resolve) => setTimeout(resolve, 300));
      sim = await startSimulatorOnPty({ serial: 'UNIT-A', bootDelayMs: 20 }, socket, 'line0');
      const retried = await station.retry(finished[0]!.unitId!, onEvent);
      expect(retried).toMatchObject({ serial: 'UNIT-A', result: 'passed' });
      // Still plugged in and done: the line starts nothing more on the port.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(starts).toHaveLength(2);
      expect(station.journal.units()).toHaveLength(1);
      expect(station.journal.attempts().map((attempt) => attempt.result)).toEqual(['passed', 'failed']);
    } finally {
      controller.abort();
      await line;
      await station.close();
      await sim.stop();
      await emulator.stop();
    }
  });
});
