import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seededBytes } from '../../../main/core/cloud/emulators/http-emulator.ts';
import { startExositeEmulator, type ExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';

const CONTENT = 'fw.bin';
const SIZE = 40 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * An Exosite vendor publishes a fix the usual way: new bytes uploaded under
 * the same content id. The station must tell the re-upload apart by the
 * content's updated time (the version's revision), not take its cached image
 * of that id.
 */
describe('firmware revisions: a content re-uploaded under the same id', () => {
  let emulator: { stop(): Promise<void> } | undefined;
  let station: Station | undefined;
  const sims: PtySimulator[] = [];
  afterEach(async () => {
    await station?.close();
    station = undefined;
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
  });

  it('Exosite: online the new bytes are downloaded and flashed; offline the last verified image of that content is', async () => {
    const exosite: ExositeEmulator = await startExositeEmulator({
      models: [{ vendor: 'acme', model: 'therm', serialNumbers: ['R-1', 'R-2', 'R-3'], content: [{ id: CONTENT, firmware: { size: SIZE, seed: 'release-1' } }] }],
    });
    emulator = exosite;
    const first = exosite.state.model('acme', 'therm')!.content.get(CONTENT)!.data;
    const dataDir = mkdtempSync(join(tmpdir(), 'fw-reupload-'));
    const open = () =>
      Station.open({
        config: lineConfigSchema.parse({ cloud: { backend: 'exosite', url: exosite.url, vendor: 'acme', model: 'therm' }, offline: { waitForCloudSeconds: 0 } }),
        dataDir,
        probeIntervalMs: 100,
      });
    const unit = async (serial: string) => {
      const sim = await startSimulatorOnPty({ serial, bootDelayMs: 20 });
      sims.push(sim);
      return sim;
    };

    station = await open();
    const r1 = await unit('R-1');
    expect((await station.provisionOnce([r1.path])).map((outcome) => outcome.result)).toEqual(['passed']);
    expect(r1.simulator.installedSha256).toBe(sha256(first));

    // The security release: same id, same size, new bytes.
    const fix = seededBytes('release-2', SIZE);
    exosite.state.upload('acme', 'therm', CONTENT, fix);
    const r2 = await unit('R-2');
    const [online] = await station.provisionOnce([r2.path]);
    expect(online).toMatchObject({ result: 'passed', versionId: CONTENT });
    expect(r2.simulator.installedSha256).toBe(sha256(fix));
    expect(station.history({ serial: 'R-2' })[0]?.firmwareSha256).toBe(sha256(fix));
    expect(exosite.calls.get('download')).toBe(2);
    // The unit and the cloud still know the content by its id, not by the station's revision of it.
    expect(r2.simulator.version).toBe(CONTENT);
    expect(exosite.state.aliasOf('acme', 'therm', 'R-2', 'fw_version')).toBe(CONTENT);
    await station.close();

    // A restarted station out of reach of the cloud flashes the last image it verified for that content: the fix.
    station = await open();
    exosite.setOffline(true);
    const r3 = await unit('R-3');
    const [offline] = await station.provisionOnce([r3.path]);
    expect(offline).toMatchObject({ result: 'passed', versionId: CONTENT });
    expect(r3.simulator.installedSha256).toBe(sha256(fix));
    expect(exosite.calls.get('download')).toBe(2);
  });

});
