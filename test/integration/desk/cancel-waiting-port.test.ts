import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { dispatch } from '../../../main/core/desk/dispatch.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';
import { until } from '../../helpers/until.ts';

/**
 * A line that works on one unit at a time (concurrency.ports 1): the other
 * port waits for its turn. Cancelling it must say that, not that the port has
 * nothing at work as if it were idle.
 */
describe('cancelling a port that waits for its turn', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  it('says the port waits for its turn and what to do, and changes nothing', { timeout: 60_000 }, async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['UNIT-A', 'UNIT-B'], versions: [{ name: '1', firmware: { size: 4000 } }] }] });
    cleanup.push(() => emulator.stop());
    const sims = await Promise.all(['UNIT-A', 'UNIT-B'].map((serial) => startSimulatorOnPty({ serial, bootDelayMs: 20 })));
    for (const sim of sims) cleanup.push(() => sim.stop());
    // The unit at work waits for its label to be scanned, holding the one place.
    const config = lineConfigSchema.parse({
      cloud: { backend: 'gadgetkeeper', url: emulator.url },
      labels: { check: { timeoutSeconds: 600 } },
      concurrency: { ports: 1 },
      ports: sims.map((sim) => sim.path),
    });
    const desk = new StationDesk({ dataDir: mkdtempSync(join(tmpdir(), 'cancel-waiting-')), settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32), fixedConfig: { config, source: 'line.json' } });
    cleanup.push(() => desk.close(0));
    await desk.init();
    await desk.startLine();
    await until(() => desk.snapshot().tiles.some((tile) => tile.prompt !== undefined), 30_000);
    const working = desk.snapshot().tiles.find((tile) => tile.prompt !== undefined)!.port;
    const waiting = sims.map((sim) => sim.path).find((path) => path !== working)!;

    const answer = await dispatch(desk, 'cancelPort', [waiting]);
    expect(answer).toEqual({
      ok: false,
      error: `port ${waiting} is waiting for its turn to take a unit (concurrency.ports): there is no unit at work to cancel yet. It starts once a port at work finishes; stop the line to keep it from starting.`,
    });
    // The unit at work is untouched: still waiting for its label.
    expect(desk.snapshot().tiles.find((tile) => tile.port === working)?.prompt).toBeDefined();
  });
});
