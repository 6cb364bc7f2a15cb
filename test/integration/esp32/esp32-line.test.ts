import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { ESP32_BUILT_IN_PROFILES } from '../../../main/core/devices/esp32/builtin-profiles.ts';
import { buildNvsPartition } from '../../../main/core/devices/esp32/nvs-partition.ts';
import { mergeFlashParts } from '../../../main/core/devices/firmware-image.ts';
import type { StationEvent } from '../../../main/core/engine/events.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { buildDemoFirmware } from '../../../main/core/simulator/esp32/demo-firmware.ts';
import { startEsp32OnPty, type PtyEsp32 } from '../../../main/core/simulator/esp32/esp32-hosts.ts';
import type { Esp32SimulatorOptions } from '../../../main/core/simulator/esp32/esp32-simulator.ts';

const PROFILE = ESP32_BUILT_IN_PROFILES['esp32s3-devkit'];
const firmware = buildDemoFirmware({ chip: 'esp32s3', version: '3.2.1' });
const mac = (n: number) => `24:0a:c4:00:10:${n.toString(16).padStart(2, '0')}`;

/** The units of the line: four that pass, and one for each fault the driver must name. */
const UNITS: Array<{ name: string; options: Partial<Esp32SimulatorOptions> }> = [
  { name: 'good-1', options: {} },
  { name: 'good-2', options: {} },
  { name: 'good-3', options: {} },
  { name: 'good-4', options: {} },
  { name: 'never-syncs', options: { faults: { neverSyncs: true } } },
  { name: 'wrong-chip', options: { chip: 'esp32c3' } },
  { name: 'flash-write-error', options: { faults: { badSectorAt: 0x10000 + 0x4000 } } },
  { name: 'md5-mismatch', options: { faults: { weakBitAt: 0x10000 + 0x100 } } },
  { name: 'unplugged-mid-flash', options: { faults: { unplugAfterBytes: 96 * 1024 } } },
];

describe('an ESP32-S3 line through the ROM bootloader, against the GadgetKeeper emulator', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  let station: Station | undefined;
  const sims: PtyEsp32[] = [];
  afterEach(async () => {
    await station?.close();
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
  });

  it('flashes the image parts, writes each unit its own NVS credentials, confirms only booted units, and fails each faulty unit alone saying what to do', { timeout: 120_000 }, async () => {
    emulator = await startGadgetKeeperEmulator({
      products: [
        {
          name: 'Sensor',
          serialNumbers: UNITS.map((_, i) => mac(i + 1)),
          versions: [{ name: '3.2.1', firmware: { base64: Buffer.from(mergeFlashParts(firmware.parts)).toString('base64') } }],
        },
      ],
      firmwareEncoding: 'octet-stream',
    });
    for (const [i, unit] of UNITS.entries()) {
      sims.push(await startEsp32OnPty({ chip: 'esp32s3', mac: mac(i + 1), powerOn: 'download', bootDelayMs: 50, ...unit.options }));
    }
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, device: { profile: 'esp32s3-devkit' }, ports: sims.map((sim) => sim.path) });
    station = await Station.open({ config, profile: PROFILE, dataDir: mkdtempSync(join(tmpdir(), 'esp32-line-')) });
    const events: StationEvent[] = [];
    const outcomes = await station.provisionOnce(config.ports as string[], (event) => events.push(event));
    const byName = new Map(UNITS.map((unit, i) => [unit.name, { outcome: outcomes[i]!, sim: sims[i]!, serial: mac(i + 1) }]));

    for (const name of ['good-1', 'good-2', 'good-3', 'good-4']) {
      const { outcome, sim, serial } = byName.get(name)!;
      expect(outcome, name).toMatchObject({ result: 'passed', serial });
      // The flash holds every part of the image where flasher_args.json puts it.
      for (const part of firmware.parts) expect(Buffer.from(sim.simulator.flash.read(part.offset, part.data.length)).equals(Buffer.from(part.data)), `${name} ${part.name}`).toBe(true);
      // The NVS partition holds this unit's thingId and the newest key the cloud issued for it.
      const thing = emulator.state.thingsBySerial.get(serial)!;
      const expectedNvs = buildNvsPartition([{ name: 'station', strings: [{ key: 'thingId', value: thing.thingId }, { key: 'apiKey', value: thing.issuedKeys.at(-1)! }] }], firmware.nvs.size);
      expect(Buffer.from(sim.simulator.flash.read(firmware.nvs.offset, firmware.nvs.size)).equals(Buffer.from(expectedNvs)), `${name} NVS`).toBe(true);
      // The application booted the new image, and only then did the cloud hear of it.
      expect(sim.simulator.bootedVersions.at(-1)).toBe('3.2.1');
      expect(thing.currentVersionId).toBe(thing.targetVersionId);
      const port = sim.path;
      const order = events.filter((event) => event.port === port && event.type === 'step' && event.status === 'done').map((event) => (event as { step: string }).step);
      expect(order.indexOf('reboot'), name).toBeLessThan(order.indexOf('confirm'));
    }

    const failures: Record<string, { step: string; says: RegExp }> = {
      'never-syncs': { step: 'identify', says: /auto-reset circuit|hold BOOT/i },
      'wrong-chip': { step: 'identify', says: /ESP32-C3.*ESP32-S3|ESP32-S3.*ESP32-C3/i },
      'flash-write-error': { step: 'flash', says: /flash/i },
      'md5-mismatch': { step: 'flash', says: /MD5|digest|does not match/i },
      'unplugged-mid-flash': { step: 'flash', says: /unplugged/i },
    };
    for (const [name, expected] of Object.entries(failures)) {
      const { outcome, serial } = byName.get(name)!;
      expect(outcome, name).toMatchObject({ result: 'failed', failedStep: expected.step });
      expect(outcome.error, name).toMatch(expected.says);
      // Nothing was confirmed with the cloud for a unit that failed.
      expect(emulator.state.thingsBySerial.get(serial)?.currentVersionId, name).toBeUndefined();
    }
  });

  it('flashes an ESP-IDF build folder pinned by its flasher_args.json, part by part', { timeout: 60_000 }, async () => {
    const build = mkdtempSync(join(tmpdir(), 'idf-build-'));
    for (const part of firmware.parts) {
      mkdirSync(dirname(join(build, part.file)), { recursive: true });
      writeFileSync(join(build, part.file), part.data);
    }
    writeFileSync(join(build, 'flasher_args.json'), JSON.stringify(firmware.flasherArgs));
    // The cloud knows the build's version (the line pins the file, the cloud is told what was installed).
    const versionId = '3a2b1c'.padEnd(32, '0');
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'Sensor', serialNumbers: [mac(1)], versions: [{ id: versionId, name: '3.2.1', firmware: { size: 1000 } }] }] });
    sims.push(await startEsp32OnPty({ chip: 'esp32s3', mac: mac(1), powerOn: 'download', bootDelayMs: 50 }));
    const config = lineConfigSchema.parse({
      cloud: { backend: 'gadgetkeeper', url: emulator.url },
      firmware: { source: 'file', path: join(build, 'flasher_args.json'), versionId },
      ports: [sims[0]!.path],
    });
    station = await Station.open({ config, profile: PROFILE, dataDir: mkdtempSync(join(tmpdir(), 'esp32-build-')) });
    const [outcome] = await station.provisionOnce([sims[0]!.path]);
    expect(outcome, outcome!.error).toMatchObject({ result: 'passed', versionId });
    for (const part of firmware.parts) expect(Buffer.from(sims[0]!.simulator.flash.read(part.offset, part.data.length)).equals(Buffer.from(part.data)), part.name).toBe(true);
    // Parts only, not a merged binary: flash no part covers (phy_init at 0xf000) is left as it was, erased.
    expect(Buffer.from(sims[0]!.simulator.flash.read(0xf000, 16)).every((byte) => byte === 0xff)).toBe(true);
    expect(sims[0]!.simulator.bootedVersions.at(-1)).toBe('3.2.1');
    expect(emulator.state.thingsBySerial.get(mac(1))!.currentVersionId).toBe(versionId);
  });
});
