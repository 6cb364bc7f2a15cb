import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FLASHER_ARGS_MAX_BYTES, readFlasherArgs } from '../../../main/core/devices/flasher-args.ts';
import { checkFlashParts, flashPartsOf, mergeFlashParts, partedFirmwareImage } from '../../../main/core/devices/firmware-image.ts';
import { ConfigError } from '../../../main/core/errors.ts';
import { buildDemoFirmware } from '../../../main/core/simulator/esp32/demo-firmware.ts';
import { writeTempFiles } from '../../helpers/peers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An ESP-IDF build folder: the parts where flasher_args.json says, and flasher_args.json itself. */
function buildFolder(mutate: (args: Record<string, unknown>) => void = () => undefined) {
  const build = buildDemoFirmware({ chip: 'esp32s3', version: '1.2.3' });
  const args = structuredClone(build.flasherArgs);
  mutate(args);
  const { dir } = writeTempFiles([...build.parts.map((part) => ({ name: part.file, data: part.data })), { name: 'flasher_args.json', data: JSON.stringify(args, null, 4) }]);
  dirs.push(dir);
  return { build, path: join(dir, 'flasher_args.json'), dir };
}

describe('flasher_args.json as ESP-IDF writes it', () => {
  it('gives each file at its address, named as ESP-IDF names the part, with the chip and flash settings', async () => {
    const { build, path } = buildFolder();
    const image = await readFlasherArgs(path);
    expect(image.chip).toBe('esp32s3');
    expect(image.flashSettings).toEqual({ flashMode: 'dio', flashSize: '4MB', flashFreq: '80m' });
    expect(image.parts.map((part) => [part.name, part.offset])).toEqual([['bootloader', 0x0], ['partition-table', 0x8000], ['app', 0x10000]]);
    for (const part of image.parts) expect(Buffer.from(part.data).equals(Buffer.from(build.parts.find((p) => p.name === part.name)!.data))).toBe(true);
  });

  it('refuses a file outside the build folder, a missing file, an encrypted part, a bad address and a file far too large, naming each', async () => {
    const outside = buildFolder((args) => ((args.flash_files as Record<string, string>)['0x200000'] = '../../etc/passwd'));
    await expect(readFlasherArgs(outside.path)).rejects.toThrow(/\.\.\/\.\.\/etc\/passwd is outside the build folder/);

    const missing = buildFolder();
    rmSync(join(missing.dir, 'partition_table/partition-table.bin'));
    await expect(readFlasherArgs(missing.path)).rejects.toThrow(/partition_table\/partition-table.bin could not be read \(ENOENT\)/);

    const encrypted = buildFolder((args) => ((args.app as Record<string, string>).encrypted = 'true'));
    await expect(readFlasherArgs(encrypted.path)).rejects.toThrow(/app is to be flashed encrypted/);

    const badAddress = buildFolder((args) => (args.flash_files = { '65536': 'thermometer.bin' }));
    await expect(readFlasherArgs(badAddress.path)).rejects.toThrow(/flash_files.65536: must be a hex address/);

    const notJson = buildFolder();
    writeFileSync(notJson.path, '{ not json');
    await expect(readFlasherArgs(notJson.path)).rejects.toBeInstanceOf(ConfigError);

    // A path pointing at something huge (an image, a disk dump) is refused by its size, before it is read into memory.
    const huge = buildFolder();
    truncateSync(huge.path, FLASHER_ARGS_MAX_BYTES + 1);
    await expect(readFlasherArgs(huge.path, () => Promise.reject(new Error('a part was read')))).rejects.toThrow(/is 1\.0 MiB, not a flasher_args\.json/);
  });
});

describe('multi-part firmware images', () => {
  const part = (name: string, offset: number, size: number, fill = 0x11) => ({ name, offset, data: new Uint8Array(size).fill(fill) });

  it('sorts parts and refuses overlaps, empty parts and parts off a sector boundary', () => {
    expect(checkFlashParts([part('app', 0x10000, 10), part('boot', 0x1000, 10)], 'x').map((p) => p.name)).toEqual(['boot', 'app']);
    expect(() => checkFlashParts([part('a', 0x1000, 0x2000), part('b', 0x2000, 16)], 'fw')).toThrow(/fw: a at 0x1000 \(8192 bytes\) overlaps b at 0x2000/);
    expect(() => checkFlashParts([part('a', 0x1800, 16)], 'fw')).toThrow(/does not start on a 4 KiB flash sector/);
    expect(() => checkFlashParts([part('a', 0x1000, 0)], 'fw')).toThrow(/is empty/);
    expect(() => checkFlashParts([], 'fw')).toThrow(/has no parts/);
  });

  it('merges parts into one binary from address 0 with erased gaps, and a parted image carries both', () => {
    const parts = [part('boot', 0x1000, 4, 0xaa), part('app', 0x3000, 2, 0xbb)];
    const merged = mergeFlashParts(parts);
    expect(merged.length).toBe(0x3002);
    expect([merged[0], merged[0x1000], merged[0x1004], merged[0x3001]]).toEqual([0xff, 0xaa, 0xff, 0xbb]);
    const image = partedFirmwareImage(parts, 'v1');
    expect(Buffer.from(image.data).equals(Buffer.from(merged))).toBe(true);
    expect(flashPartsOf(image).map((p) => p.name)).toEqual(['boot', 'app']);
    expect(flashPartsOf({ data: merged, sha256: image.sha256, versionId: 'v1' })).toEqual([{ name: 'merged image', offset: 0, data: merged }]);
    expect(flashPartsOf({ data: new Uint8Array(8), sha256: '', versionId: 'app' }, 0x10000)[0]).toMatchObject({ name: 'image', offset: 0x10000 });
  });
});
