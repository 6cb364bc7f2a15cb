import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seededBytes } from '../../../main/core/cloud/emulators/http-emulator.ts';
import { startExositeEmulator, type ExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { until } from '../../helpers/until.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';

const CONTENT = 'firmware.bin';
const REUPLOADED = 'fw.bin';
const SIZE = 40 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Two products of one vendor on Exosite, each with its own image under the
 * same content id (ids are names there, "firmware.bin" is a common one). One
 * station data folder serves the first line, then the second.
 */
describe('firmware and the target version are kept per cloud and per upload, not per backend or id', () => {
  let emulator: ExositeEmulator | undefined;
  let station: Station | undefined;
  const sims: PtySimulator[] = [];
  afterEach(async () => {
    await station?.close();
    station = undefined;
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
  });
  /** A station on vendor acme's `model` at `url`, offline at once when the cloud is away. */
  const openExositeLine = (url: string, model: string, dataDir: string) =>
    Station.open({
      config: lineConfigSchema.parse({ cloud: { backend: 'exosite', url, vendor: 'acme', model }, offline: { waitForCloudSeconds: 0 } }),
      dataDir,
      probeIntervalMs: 100,
    });
  /** A simulated unit on a pty, stopped after the test. */
  const unit = async (serial: string) => {
    const sim = await startSimulatorOnPty({ serial, bootDelayMs: 20 });
    sims.push(sim);
    return sim;
  };

  it("a line of another model never flashes the first model's image, offline or online", async () => {
    emulator = await startExositeEmulator({
      models: [
        { vendor: 'acme', model: 'therm-a', serialNumbers: ['A-1'], content: [{ id: CONTENT, firmware: { size: 48 * 1024, seed: 'therm-a' } }] },
        { vendor: 'acme', model: 'therm-b', serialNumbers: ['B-1', 'B-2'], content: [{ id: CONTENT, firmware: { size: 48 * 1024, seed: 'therm-b' } }] },
      ],
    });
    const imageOf = (model: string) => sha256(emulator!.state.model('acme', model)!.content.get(CONTENT)!.data);
    const dataDir = mkdtempSync(join(tmpdir(), 'fw-per-cloud-'));
    const open = (model: string) => openExositeLine(emulator!.url, model, dataDir);

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

  // An Exosite vendor publishes a fix the usual way: new bytes under the same content id. The station tells the
  // re-upload apart by the content's updated time (the version's revision), not by its cached image of that id.
  it('Exosite: online the new bytes are downloaded and flashed; offline the last verified image of that content is', async () => {
    const exosite = await startExositeEmulator({
      models: [{ vendor: 'acme', model: 'therm', serialNumbers: ['R-1', 'R-2', 'R-3'], content: [{ id: REUPLOADED, firmware: { size: SIZE, seed: 'release-1' } }] }],
    });
    emulator = exosite;
    const first = exosite.state.model('acme', 'therm')!.content.get(REUPLOADED)!.data;
    const dataDir = mkdtempSync(join(tmpdir(), 'fw-reupload-'));
    const open = () => openExositeLine(exosite.url, 'therm', dataDir);

    station = await open();
    const r1 = await unit('R-1');
    expect((await station.provisionOnce([r1.path])).map((outcome) => outcome.result)).toEqual(['passed']);
    expect(r1.simulator.installedSha256).toBe(sha256(first));

    // The security release: same id, same size, new bytes.
    const fix = seededBytes('release-2', SIZE);
    exosite.state.upload('acme', 'therm', REUPLOADED, fix);
    const r2 = await unit('R-2');
    const [online] = await station.provisionOnce([r2.path]);
    expect(online).toMatchObject({ result: 'passed', versionId: REUPLOADED });
    expect(r2.simulator.installedSha256).toBe(sha256(fix));
    expect(station.history({ serial: 'R-2' })[0]?.firmwareSha256).toBe(sha256(fix));
    expect(exosite.calls.get('download')).toBe(2);
    // The unit and the cloud still know the content by its id, not by the station's revision of it.
    expect(r2.simulator.version).toBe(REUPLOADED);
    expect(exosite.state.aliasOf('acme', 'therm', 'R-2', 'fw_version')).toBe(REUPLOADED);
    await station.close();

    // A restarted station out of reach of the cloud flashes the last image it verified for that content: the fix.
    station = await open();
    exosite.setOffline(true);
    const r3 = await unit('R-3');
    const [offline] = await station.provisionOnce([r3.path]);
    expect(offline).toMatchObject({ result: 'passed', versionId: REUPLOADED });
    expect(r3.simulator.installedSha256).toBe(sha256(fix));
    expect(exosite.calls.get('download')).toBe(2);
  });
});
