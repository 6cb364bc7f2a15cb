import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import type { StationEvent } from '../../../main/core/engine/events.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';
import { until } from '../../helpers/until.ts';
import { useCleanup } from '../../helpers/cleanup.ts';

const SERIAL = 'CLOSING00001';

describe('closing the station while a unit is at work outside a line', () => {
  const cleanup = useCleanup();

  it('cancels the unit and finishes its record before the journal closes', { timeout: 60_000 }, async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [SERIAL], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    cleanup.push(() => emulator.stop());
    // A unit slow to answer: it is still at work when the station closes.
    const sim = await startSimulatorOnPty({ serial: SERIAL, answerDelayMs: 1500, bootDelayMs: 20 });
    cleanup.push(() => sim.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'station-close-'));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } });
    const station = await Station.open({ config, dataDir });
    const events: StationEvent[] = [];
    // As a screen's "start this port" or a retry does: no line, no signal of its own.
    const outcomes = station.provisionOnce([sim.path], (event) => events.push(event));
    // Identified (so it has a record) and waiting on the unit's next answer.
    await until(() => events.some((event) => event.type === 'step' && event.step === 'identify' && event.status === 'done'), 20_000);

    await station.close();
    const [outcome] = await outcomes;
    // A cancelled unit's record may be retried; its attempt says cancelled.
    expect(outcome).toMatchObject({ serial: SERIAL, result: 'failed', errorCode: 'CANCELLED' });

    // What the next start reads: the record is finished as cancelled, not left at work.
    const reopened = await Station.open({ config, dataDir });
    cleanup.push(() => reopened.close());
    expect(reopened.history().map((attempt) => attempt.result)).toEqual(['cancelled']);
  });
});
