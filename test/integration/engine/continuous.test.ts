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
});
