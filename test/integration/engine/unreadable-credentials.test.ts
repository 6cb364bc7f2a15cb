import { mkdtempSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';
import { dataFolder } from '../../../main/core/storage/data-folder.ts';

const SERIAL = 'THERM00000000000021';

/**
 * A unit's record holds credentials the station can no longer read (the
 * sealed bytes damaged on disk, or the key replaced). Plugged in again, the
 * unit must not fail at identify every time: it is activated anew.
 */
describe('held credentials that cannot be read', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  let station: Station | undefined;
  let sim: PtySimulator | undefined;
  afterEach(async () => {
    await station?.close();
    await sim?.stop();
    await emulator?.stop();
  });

  it('count as none: the unit plugged in again is activated and passes', { timeout: 60_000 }, async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [SERIAL], versions: [{ name: '2.0.0', firmware: { size: 32 * 1024 } }] }] });
    const dataDir = mkdtempSync(join(tmpdir(), 'unreadable-creds-'));
    station = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }), dataDir, autoReplay: false });
    // An earlier try left the unit's credentials held (it was unplugged before they were written)...
    const earlier = station.journal.startUnit(SERIAL, '/dev/ttyACM0');
    station.journal.storeCredentials(earlier.id, { thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32), account: station.adapter.account }, 'held');
    station.journal.finishUnit(earlier.id, 'failed', { step: 'write-credentials', error: 'the unit was unplugged' });
    // ...and the sealed bytes were damaged on disk since.
    const db = new DatabaseSync(dataFolder(dataDir).journal);
    db.prepare('UPDATE units SET credentials = ? WHERE id = ?').run(Buffer.alloc(60, 7), earlier.id);
    db.close();
    expect(() => station!.journal.credentials(earlier.id)).toThrow();

    sim = await startSimulatorOnPty({ serial: SERIAL, bootDelayMs: 20 });
    for (const attempt of [1, 2]) {
      const [outcome] = await station.provisionOnce([sim.path]);
      expect(outcome, `plug-in ${attempt}`).toMatchObject({ result: 'passed' });
    }
    const thing = emulator.state.thingsBySerial.get(SERIAL)!;
    expect(sim.simulator.storedCredentials).toEqual({ thingId: thing.thingId, apiKey: thing.apiKey });
  });
});
