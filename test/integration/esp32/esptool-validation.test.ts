import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ESP32_CHIPS, CHIP_FACTS } from '../../../main/core/devices/esp32/chips.ts';
import { buildDemoFirmware } from '../../../main/core/simulator/esp32/demo-firmware.ts';
import { startEsp32OnPty, type PtyEsp32 } from '../../../main/core/simulator/esp32/esp32-hosts.ts';
import { esptool, writeTempFiles } from '../../helpers/peers.ts';

/**
 * The simulated ROM bootloader against Espressif's own esptool (4.8.1,
 * unmodified, --no-stub): what esptool reads and writes must be what a real
 * chip would give it.
 */
describe.each(ESP32_CHIPS)('the simulated %s ROM bootloader, driven by esptool', (chip) => {
  const MAC = '24:0a:c4:9e:01:7b';
  let sim: PtyEsp32 | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('answers chip_id and read_mac with its chip and its eFuse MAC', async () => {
    sim = await startEsp32OnPty({ chip, mac: MAC });
    const chipId = await esptool(sim.path, 'chip_id');
    expect(chipId.code, chipId.stdout + chipId.stderr).toBe(0);
    expect(chipId.stdout).toContain(`Detecting chip type... ${CHIP_FACTS[chip].name}`);
    expect(chipId.stdout).toMatch(new RegExp(`Chip is ${CHIP_FACTS[chip].name}`));
    const readMac = await esptool(sim.path, 'read_mac');
    expect(readMac.code, readMac.stdout + readMac.stderr).toBe(0);
    expect(readMac.stdout).toContain(`MAC: ${MAC}`);
  });

  it('takes a compressed write_flash of bootloader, partition table and app, and verify_flash agrees byte for byte', async () => {
    sim = await startEsp32OnPty({ chip, mac: MAC });
    const firmware = buildDemoFirmware({ chip, version: '2.7.1' });
    const { dir, paths } = writeTempFiles(firmware.parts.map((part) => ({ name: part.file, data: part.data })));
    dirs.push(dir);
    const addressed = firmware.parts.flatMap((part, i) => [`0x${part.offset.toString(16)}`, paths[i]!]);

    const write = await esptool(sim.path, 'write_flash', '--compress', ...addressed);
    expect(write.code, write.stdout + write.stderr).toBe(0);
    expect(write.stdout.match(/Hash of data verified\./g)).toHaveLength(3);
    expect(write.stdout).toMatch(/Wrote \d+ bytes \(\d+ compressed\) at 0x00010000/);
    for (const part of firmware.parts) {
      expect(Buffer.from(sim.simulator.flash.read(part.offset, part.data.length)).equals(Buffer.from(part.data)), part.name).toBe(true);
    }

    const verify = await esptool(sim.path, 'verify_flash', ...addressed);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout.match(/verify OK \(digest matched\)/g)).toHaveLength(3);

    // The MD5 comes from the flash array: one changed byte and esptool sees it.
    const app = firmware.parts.find((part) => part.name === 'app')!;
    sim.simulator.flash.bytes[app.offset + 1000]! ^= 0x40;
    const mismatch = await esptool(sim.path, 'verify_flash', `0x${app.offset.toString(16)}`, paths[2]!);
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.stdout + mismatch.stderr).toMatch(/verify FAILED \(digest mismatch\)/);
  });
});

describe("the simulated ROM's faults, as esptool sees them", () => {
  let sim: PtyEsp32 | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  it('a register the ROM refuses to read: esptool read_mac fails on its status, as the station does', async () => {
    sim = await startEsp32OnPty({ chip: 'esp32s3', mac: '24:0a:c4:9e:01:7b', faults: { readRegFailsAt: 0x60007044 } });
    const readMac = await esptool(sim.path, 'read_mac');
    expect(readMac.code).not.toBe(0);
    expect(readMac.stdout + readMac.stderr).toMatch(/Failed to read register address 60007044 \(result was 01050000/);
  });
});
