import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startExositeEmulator, type ExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { until } from '../../helpers/until.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';

const CONTENT = 'firmware.bin';

/**
 * Two products of one vendor on Exosite, each with its own image under the
 * same content id (ids are names there, "firmware.bin" is a common one). One
 * station data folder serves the first line, then the second.
 */
describe('firmware and the target version are kept per cloud, not per backend', () => {
  let emulator: ExositeEmulator | undefined;
  let station: Station | undefined;
  const sims: PtySimulator[] = [];
  afterEach(async () => {
    await station?.close();
    station = undefined;
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
  });

  it("a line of another model never flashes the first model's image, offline or online", async () => {
    emulator = await startExositeEmulator({
      models: [
        { vendor: 'acme', model: 'therm-a', serialNumbers: ['A-1'], content: [{ id: CONTENT, firmware: { size: 48 * 1024, seed: 'therm-a' } }] },
        { vendor: 'acme', model: 'therm-b', serialNumbers: ['B-1', 'B-2'], content: [{ id: CONTENT, firmware: { size: 48 * 1024, seed: 'therm-b' } }] },
      ],
    });
    const imageOf = (model: string) => createHash('sha256').update(emulator!.state.model('acme', model)!.content.get(CONTENT)!.data).digest('hex');
    const dataDir = mkdtempSync(join(tmpdir(), 'fw-per-cloud-'));
    const open = (model: string) =>
      Station.open({
        config: lineConfigSchema.parse({ cloud: { backend: 'exosite', url: emulator!.url, vendor: 'acme', model }, offline: { waitForCloudSeconds: 0 } }),
        dataDir,
        probeIntervalMs: 100,
      });
    const unit = async (serial: string) => {
      const sim = await startSimulatorOnPty({ serial, bootDelayMs: 20 });
      sims.push(sim);
      return sim;
    };

    // The first line: its image is downloaded, cached, and its content is the last target the station knows.
    station = await open('therm-a');
    const a = await unit('A-1');
    expect((await station.provisionOnce([a.path])).map((outcome) => outcome.result)).toEqual(['passed']);
    expect(station.history({ serial: 'A-1' })[0]?.firmwareSha256).toBe(imageOf('therm-a'));
    await station.close();

    // The second line, its cloud out of reach: it knows no target of its own, so its unit waits for the cloud instead of taking therm-a's.
    station = await open('therm-b');
    emulator.setOffline(true);
    const b1 = await unit('B-1');
    const [offline] = await station.provisionOnce([b1.path]);
    expect(offline).toMatchObject({ result: 'failed', errorCode: 'OFFLINE_NO_TARGET' });
    expect(b1.simulator.flashCount).toBe(0);

    // Online: its own image is downloaded and flashed, not the cached one of the same name.
    emulator.setOffline(false);
    await until(() => station!.connectivity.online);
    const b2 = await unit('B-2');
    expect((await station.provisionOnce([b2.path])).map((outcome) => outcome.result)).toEqual(['passed']);
    expect(station.history({ serial: 'B-2' })[0]?.firmwareSha256).toBe(imageOf('therm-b'));
    expect(emulator.calls.get('download')).toBe(2);
  });
});
