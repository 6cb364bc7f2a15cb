import { afterEach, describe, expect, it } from 'vitest';
import { ESP32_CHIPS, CHIP_FACTS, type Esp32Chip } from '../../../main/core/devices/esp32/chips.ts';
import { Esp32Driver } from '../../../main/core/devices/esp32/esp32-driver.ts';
import { parseEsp32Profile, type Esp32ProfileInput } from '../../../main/core/devices/esp32/esp32-profile.ts';
import { buildNvsPartition } from '../../../main/core/devices/esp32/nvs-partition.ts';
import { partedFirmwareImage, mergeFlashParts } from '../../../main/core/devices/firmware-image.ts';
import type { FirmwareImage } from '../../../main/core/devices/driver.ts';
import { PortDisconnectedError, StationError } from '../../../main/core/errors.ts';
import type { BytePort } from '../../../main/core/ports/byte-port.ts';
import { LineControlUnsupportedError, type LineControlEvent } from '../../../main/core/ports/line-control.ts';
import { openPort } from '../../../main/core/ports/open-port.ts';
import { buildDemoFirmware, DEMO_LAYOUT, partitionTable, type DemoFirmware } from '../../../main/core/simulator/esp32/demo-firmware.ts';
import { DATA_SUBTYPE, PARTITION_TYPE } from '../../../main/core/devices/esp32/partition-table.ts';
import { startEsp32InMemory, startEsp32OnPty, type HostedEsp32 } from '../../../main/core/simulator/esp32/esp32-hosts.ts';
import type { Esp32SimulatorOptions } from '../../../main/core/simulator/esp32/esp32-simulator.ts';
import { createHash } from 'node:crypto';
import type { ChipRegisters } from '../../../main/core/simulator/esp32/chip-registers.ts';
import { ROM_COMMAND } from '../../../main/core/devices/esp32/rom-protocol.ts';
import { until } from '../../helpers/until.ts';

const MAC = '24:0a:c4:5e:00:2a';
const credentials = { thingId: '5f0c2a9be1d74c3a8e6b1d2f3a4c5b6d', apiKey: 'sk_live_9Qz2LmX7vB4nR8tK1wY6pJ3h' };

const hosts: HostedEsp32[] = [];
const drivers: Esp32Driver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((driver) => driver.close()));
  await Promise.all(hosts.splice(0).map((host) => host.stop()));
});

function profileFor(chip: Esp32Chip, overrides: Partial<Esp32ProfileInput> = {}) {
  return parseEsp32Profile({ driver: 'esp32', name: `line-${chip}`, chip, flashBaudRate: 921600, ...overrides });
}

/** A simulated chip on an in-memory pair: the station's DTR/RTS reach its EN/IO0, its baud rate must match. */
function inMemory(options: Partial<Esp32SimulatorOptions> & { chip: Esp32Chip }, profile = profileFor(options.chip)) {
  const host = startEsp32InMemory(`sim://${options.chip}`, { mac: MAC, powerOn: 'application', ...options });
  hosts.push(host);
  const driver = new Esp32Driver(host.port, profile);
  drivers.push(driver);
  return { host, driver };
}

async function onPty(options: Partial<Esp32SimulatorOptions> & { chip: Esp32Chip }, profile = profileFor(options.chip)) {
  const host = await startEsp32OnPty({ mac: MAC, ...options });
  hosts.push(host);
  const driver = new Esp32Driver(await openPort(host.path), profile);
  drivers.push(driver);
  return { host, driver };
}

function firmware(chip: Esp32Chip, version = '4.2.0'): { build: DemoFirmware; image: FirmwareImage } {
  const build = buildDemoFirmware({ chip, version });
  return { build, image: partedFirmwareImage(build.parts, `v${version}`) };
}

const lines = (calls: readonly LineControlEvent[]) => calls.map((call) => (call.type === 'baud' ? `baud ${call.baudRate}` : `D${Number(call.dtr)}R${Number(call.rts)}`));

describe.each(ESP32_CHIPS)('the ESP32 driver on esptool-js, against the simulated %s ROM bootloader', (chip) => {
  it('resets into the bootloader, reads the MAC, flashes at 921600 baud, writes and verifies credentials, boots the new version', async () => {
    const { host, driver } = inMemory({ chip });
    const { build, image } = firmware(chip);

    expect(await driver.identify()).toEqual({ serial: MAC });
    const progress: number[] = [];
    await driver.flash(image, { onProgress: (p) => progress.push(p.bytesDone) });
    expect(progress.at(-1)).toBe(build.parts.reduce((sum, part) => sum + part.data.length, 0));
    for (const part of build.parts) {
      expect(Buffer.from(host.simulator.flash.read(part.offset, part.data.length)).equals(Buffer.from(part.data)), part.name).toBe(true);
    }

    await driver.writeCredentials(credentials);
    await driver.verifyCredentials(credentials);
    const nvs = buildNvsPartition([{ name: 'station', strings: [{ key: 'thingId', value: credentials.thingId }, { key: 'apiKey', value: credentials.apiKey }] }], DEMO_LAYOUT.nvs.size);
    expect(Buffer.from(host.simulator.flash.read(DEMO_LAYOUT.nvs.offset, DEMO_LAYOUT.nvs.size)).equals(Buffer.from(nvs))).toBe(true);

    expect(await driver.reboot()).toEqual({ serial: MAC, version: '4.2.0' });
    expect(host.simulator.bootedVersions).toEqual(['4.2.0']);
    expect(host.simulator.garbledBytes).toBe(0);
    // esptool's classic reset, the rate raised for flashing and back to 115200 before the hard reset, then the hard reset (IO0 released first).
    expect(lines(host.port.controlCalls)).toEqual(['D0R1', 'D0R1', 'D1R1', 'D1R0', 'D0R0', 'baud 115200', 'baud 921600', 'baud 115200', 'D0R0', 'D0R1', 'D0R0']);
  });
});

describe('the ESP32 driver: serial numbers, versions and where credentials go', () => {
  it('reads the serial number from the application boot log when the profile says so, and checks it again after the reboot', async () => {
    const installed = buildDemoFirmware({ chip: 'esp32s3', version: '1.0.0' });
    const profile = profileFor('esp32s3', { serialNumber: { source: 'boot-output', pattern: 'serial number: (?<serial>[A-Z0-9-]+)' } });
    const { host, driver } = inMemory(
      { chip: 'esp32s3', flashContents: installed.parts, appLines: ['I (402) main: serial number: THERM-0042'] },
      profile,
    );
    expect(await driver.identify()).toEqual({ serial: 'THERM-0042' });
    await driver.flash(firmware('esp32s3', '1.1.0').image);
    expect(await driver.reboot()).toEqual({ serial: 'THERM-0042', version: '1.1.0' });
    expect(host.simulator.bootedVersions).toEqual(['1.0.0', '1.1.0']);
  });

  it('reads the boot log past a 0xC0 byte in it (noise, a Latin-1 character): the application speaks no SLIP', async () => {
    const installed = buildDemoFirmware({ chip: 'esp32s3', version: '1.0.0' });
    const profile = profileFor('esp32s3', { serialNumber: { source: 'boot-output', pattern: 'serial number: (?<serial>[A-Z0-9-]+)', timeoutMs: 3000 } });
    const { driver } = inMemory({ chip: 'esp32s3', flashContents: installed.parts, appLines: ['I (400) sensor: raw \u00c0\u00c0 ok', 'I (402) main: serial number: THERM-0042'] }, profile);
    expect(await driver.identify()).toEqual({ serial: 'THERM-0042' });
  });

  it('refuses a serial number from the boot log that is not a plain token', async () => {
    const installed = buildDemoFirmware({ chip: 'esp32c3', version: '1.0.0' });
    const profile = profileFor('esp32c3', { serialNumber: { source: 'boot-output', pattern: 'serial number: (?<serial>.+)' } });
    const { driver } = inMemory({ chip: 'esp32c3', flashContents: installed.parts, appLines: ['I (402) main: serial number: THERM 42'] }, profile);
    await expect(driver.identify()).rejects.toThrow(/serial number that is not 1 to 64 printable characters \("THERM 42"\)/);
  });

  it("reads an application log in ESP-IDF's colours (CONFIG_LOG_COLORS) as the text it shows", async () => {
    const installed = buildDemoFirmware({ chip: 'esp32s3', version: '1.0.0' });
    const profile = profileFor('esp32s3', { serialNumber: { source: 'boot-output', pattern: 'serial number: (?<serial>\\S+)' } });
    // ESP_LOGI with colours: green from the start of the line, reset at its end, just before the line ending.
    const coloured = (text: string) => `\x1b[0;32mI (402) main: ${text}\x1b[0m`;
    const { host, driver } = inMemory({ chip: 'esp32s3', flashContents: installed.parts, appLines: [coloured('serial number: THERM-0042')] }, profile);
    expect(await driver.identify()).toEqual({ serial: 'THERM-0042' });
    // The version from a line of ESP-IDF's own, coloured the same way.
    const versionProfile = profileFor('esp32s3', { serialNumber: { source: 'mac', format: 'hex-upper', prefix: '' }, boot: { versionPattern: 'firmware: (?<version>\\S+)' } });
    const { driver: second } = inMemory({ chip: 'esp32s3', appLines: [coloured('firmware: 1.1.0')] }, versionProfile);
    await second.identify();
    await second.flash(firmware('esp32s3', '1.1.0').image);
    expect(await second.reboot()).toEqual({ serial: '240AC45E002A', version: '1.1.0' });
    // The first unit only ever ran 1.0.0: once for the reset, and once more if it finished its power-on boot first (a busy machine).
    expect(new Set(host.simulator.bootedVersions)).toEqual(new Set(['1.0.0']));
  });

  it('resets a unit that booted long ago (the port opened with DTR asserted) to read its serial number from the boot log', async () => {
    const installed = buildDemoFirmware({ chip: 'esp32c3', version: '1.0.0' });
    const profile = profileFor('esp32c3', { serialNumber: { source: 'boot-output', pattern: 'serial number: (?<serial>\\S+)', timeoutMs: 3000 } });
    const host = startEsp32InMemory('sim://esp32c3', { chip: 'esp32c3', mac: MAC, powerOn: 'application', flashContents: installed.parts, appLines: ['I (402) main: serial number: THERM-0042'] });
    hosts.push(host);
    // Its power-on log went by before the station opened the port: only a reset makes it print it again.
    await until(() => host.simulator.bootedVersions.length === 1);
    const driver = new Esp32Driver(host.port, profile);
    drivers.push(driver);
    expect(await driver.identify()).toEqual({ serial: 'THERM-0042' });
    expect(host.simulator.bootedVersions).toEqual(['1.0.0', '1.0.0']);
  });

  it('formats a MAC serial as the profile asks', async () => {
    const { driver } = inMemory({ chip: 'esp32c3' }, profileFor('esp32c3', { serialNumber: { source: 'mac', format: 'hex-upper', prefix: 'ESP-' } }));
    expect(await driver.identify()).toEqual({ serial: 'ESP-240AC45E002A' });
  });

  it('reads the installed version before flashing only when the profile asks', async () => {
    const installed = buildDemoFirmware({ chip: 'esp32', version: '0.9.3' });
    const { driver } = inMemory({ chip: 'esp32', flashContents: installed.parts }, profileFor('esp32', { boot: { readVersionBeforeFlash: true } }));
    expect(driver.capabilities.readVersion).toBe(true);
    expect(await driver.readVersion()).toBe('0.9.3');
    expect(inMemory({ chip: 'esp32' }).driver.capabilities.readVersion).toBe(false);
  });

  it('writes a merged binary at 0x0 and still finds the NVS partition in its partition table', async () => {
    const { build } = firmware('esp32c3');
    const merged = mergeFlashParts(build.parts);
    const image: FirmwareImage = { data: merged, sha256: createHash('sha256').update(merged).digest('hex'), versionId: 'merged' };
    const { host, driver } = inMemory({ chip: 'esp32c3' });
    await driver.flash(image);
    expect(Buffer.from(host.simulator.flash.read(0, merged.length)).equals(Buffer.from(merged))).toBe(true);
    await driver.writeCredentials(credentials);
    await driver.verifyCredentials(credentials);
    expect((await driver.reboot()).version).toBe('4.2.0');
  });

  it('needs the NVS place from the profile when the image has no partition table, and then uses it', async () => {
    const { build } = firmware('esp32');
    const app = build.parts.find((part) => part.name === 'app')!;
    const appOnly: FirmwareImage = { data: app.data, sha256: createHash('sha256').update(app.data).digest('hex'), versionId: 'app' };
    const withoutPlace = inMemory({ chip: 'esp32', flashContents: build.parts }, profileFor('esp32', { singleImageOffset: '0x10000' }));
    await withoutPlace.driver.flash(appOnly);
    await expect(withoutPlace.driver.writeCredentials(credentials)).rejects.toMatchObject({ code: 'NVS_UNKNOWN', hint: expect.stringMatching(/credentials\.nvsPartition/) });

    const profile = profileFor('esp32', { singleImageOffset: '0x10000', credentials: { nvsPartition: { offset: '0x9000', size: '0x6000' } } });
    const { host, driver } = inMemory({ chip: 'esp32', flashContents: build.parts }, profile);
    await driver.flash(appOnly);
    await driver.writeCredentials(credentials);
    await driver.verifyCredentials(credentials);
    expect(host.simulator.flash.read(0x9000, 4)).toEqual(Uint8Array.of(0xfe, 0xff, 0xff, 0xff));
  });

  it("refuses an image whose partition table puts NVS off a 4 KiB sector: the ROM cannot write there without erasing what comes before", async () => {
    const { build } = firmware('esp32c3');
    const table = partitionTable([
      { label: 'nvs', type: PARTITION_TYPE.data, subtype: DATA_SUBTYPE.nvs, offset: 0x9800, size: 0x5000 },
      { label: 'factory', type: PARTITION_TYPE.app, subtype: 0x00, ...DEMO_LAYOUT.factory },
    ]);
    const parts = build.parts.map((part) => (part.name === 'partition-table' ? { ...part, data: table } : part));
    const { host, driver } = inMemory({ chip: 'esp32c3' });
    await driver.flash(partedFirmwareImage(parts, 'v-odd-nvs'));
    const before = Buffer.from(host.simulator.flash.bytes);
    const error = (await driver.writeCredentials(credentials).catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'NVS_UNUSABLE', retryable: false, where: { port: driver.port, step: 'write-credentials' } });
    expect(error.describe()).toContain('the NVS partition at 0x9800 does not start on a 4 KiB flash sector');
    expect(Buffer.from(host.simulator.flash.bytes).equals(before)).toBe(true);
  });

  it("refuses an NVS partition bigger than the unit's flash before building its image (the table's size is the image's word, not the unit's)", async () => {
    const { build } = firmware('esp32c3');
    const table = partitionTable([
      { label: 'nvs', type: PARTITION_TYPE.data, subtype: DATA_SUBTYPE.nvs, offset: 0x9000, size: 0x10000000 },
      { label: 'factory', type: PARTITION_TYPE.app, subtype: 0x00, ...DEMO_LAYOUT.factory },
    ]);
    const parts = build.parts.map((part) => (part.name === 'partition-table' ? { ...part, data: table } : part));
    const { driver } = inMemory({ chip: 'esp32c3' });
    await driver.flash(partedFirmwareImage(parts, 'v-huge-nvs'));
    for (const step of [() => driver.writeCredentials(credentials), () => driver.verifyCredentials(credentials)]) {
      const started = performance.now();
      const error = (await step().catch((e: unknown) => e)) as StationError;
      expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', retryable: false });
      expect(error.message).toBe("nvs at 0x9000 (268435456 bytes) ends past the end of this unit's 4 MB flash");
      // Refused from the numbers: no 256 MiB image was built and hashed first.
      expect(performance.now() - started).toBeLessThan(300);
    }
  });

  it('refuses credentials the unit does not hold, without ever naming the key', async () => {
    const { driver } = inMemory({ chip: 'esp32s3' });
    await driver.flash(firmware('esp32s3').image);
    await driver.writeCredentials(credentials);
    const other = { ...credentials, apiKey: 'sk_live_SOMETHINGELSE000000000000' };
    const error = (await driver.verifyCredentials(other).catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'CREDENTIALS_MISMATCH', where: { step: 'verify-credentials' } });
    expect(error.describe()).not.toContain(other.apiKey);
    expect(error.describe()).not.toContain(credentials.apiKey);
  });

  it('on an adapter that changes speed but has no DTR/RTS, talks to the ROM at its own rate before "run user code"', async () => {
    const host = startEsp32InMemory('sim://no-lines', { chip: 'esp32', mac: MAC, powerOn: 'download' });
    hosts.push(host);
    const withoutLines: BytePort = Object.create(host.port, {
      control: {
        value: {
          setSignals: async () => {
            throw new LineControlUnsupportedError('no modem lines here');
          },
          setBaudRate: (rate: number) => host.port.control.setBaudRate(rate),
        },
      },
    });
    const driver = new Esp32Driver(withoutLines, profileFor('esp32'));
    drivers.push(driver);
    await driver.flash(firmware('esp32', '6.0.0').image);
    expect(await driver.reboot()).toMatchObject({ version: '6.0.0' });
    expect(lines(host.port.controlCalls)).toEqual(['baud 115200', 'baud 921600', 'baud 115200', 'baud 921600', 'baud 115200']);
  });

  it('on a pty (no DTR/RTS) syncs with a unit already in its bootloader and starts the application with "run user code"', async () => {
    const { host, driver } = await onPty({ chip: 'esp32c3' });
    expect(await driver.identify()).toEqual({ serial: MAC });
    await driver.flash(firmware('esp32c3', '5.0.1').image);
    await driver.writeCredentials(credentials);
    await driver.verifyCredentials(credentials);
    expect(await driver.reboot()).toEqual({ serial: MAC, version: '5.0.1' });
    expect(host.simulator.mode).toBe('application');
  });
});

describe('the ESP32 driver: each fault fails the unit with what to do', () => {
  it('never syncs (IO0 not wired): says the application started instead, and to check the auto-reset circuit or hold BOOT', async () => {
    const { driver } = inMemory({ chip: 'esp32', faults: { neverSyncs: true } }, profileFor('esp32', { reset: { attempts: 2 } }));
    const error = (await driver.identify().catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'BOOTLOADER_NO_SYNC', retryable: true, where: { step: 'identify' } });
    expect(error.describe()).toMatch(/the unit started its application \(0x13\) instead of the ROM bootloader.*auto-reset circuit.*hold BOOT while plugging the unit in/);
  });

  it('never syncs on a port without reset lines: says this port cannot reset the unit, hold BOOT', async () => {
    const { driver } = await onPty({ chip: 'esp32s3', faults: { neverSyncs: true } }, profileFor('esp32s3', { reset: { attempts: 1 } }));
    const error = (await driver.identify().catch((e: unknown) => e)) as StationError;
    // Whether the application's power-on log reaches the station before it opens the pty is a race; either account is right.
    expect(error.describe()).toMatch(/(did not answer the ROM bootloader's sync \(1 attempt\)|started its application \(0x8\) instead of the ROM bootloader).*cannot reset the unit \(no DTR\/RTS\): hold BOOT/);
  });

  it('wrong chip: names both chips and the profile to choose', async () => {
    const { driver } = inMemory({ chip: 'esp32c3' }, profileFor('esp32s3'));
    const error = (await driver.identify().catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'WRONG_CHIP', retryable: false });
    expect(error.describe()).toContain(`this unit is an ${CHIP_FACTS.esp32c3.name}, but the profile "line-esp32s3" is for ${CHIP_FACTS.esp32s3.name}`);
    expect(error.hint).toContain('choose the device profile for ESP32-C3');
  });

  it('a chip the station does not know at all: refused at once, not retried as a sync failure', async () => {
    const { host, driver } = inMemory({ chip: 'esp32' });
    (host.simulator as unknown as { registers: ChipRegisters }).registers.write(0x40001000, 0xdeadbeef, 0xffffffff);
    const error = (await driver.identify().catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'WRONG_CHIP', retryable: false });
    expect(error.describe()).toContain('this unit\'s chip is not one the station knows (Unexpected CHIP magic value 0xdeadbeef), but the profile "line-esp32" is for ESP32');
  });

  it('a register the ROM refuses to read (the MAC in eFuse) fails identify, never reads as zeros in the serial number', async () => {
    // ESP32-S3 eFuse block 1, word 0: the low four bytes of the factory MAC.
    const { driver } = inMemory({ chip: 'esp32s3', faults: { readRegFailsAt: 0x60007044 } });
    const error = (await driver.identify().catch((e: unknown) => e)) as StationError;
    expect(error).toBeInstanceOf(StationError);
    expect(error).toMatchObject({ code: 'ROM_ERROR', where: { port: driver.port, step: 'identify' } });
    expect(error.message).toBe("the chip's ROM could not read register 0x60007044: received message is invalid");
  });

  it.each(['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '25:0a:c4:5e:00:2a'])('a MAC no factory writes (%s) is refused as a serial number, not given to a unit', async (mac) => {
    const { driver } = inMemory({ chip: 'esp32', mac });
    const error = (await driver.identify().catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'BAD_FACTORY_MAC', retryable: false, where: { port: driver.port, step: 'identify' } });
    expect(error.message).toBe(`the unit's eFuse holds ${mac}, not a factory MAC address`);
  });

  it('a cancelled step stops waiting for a unit that never answers', async () => {
    const { driver } = inMemory({ chip: 'esp32', faults: { neverSyncs: true } });
    const abort = new AbortController();
    const started = performance.now();
    setTimeout(() => abort.abort(), 300);
    await expect(driver.identify({ signal: abort.signal })).rejects.toMatchObject({ code: 'CANCELLED', where: { step: 'identify' } });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a reboot cancelled at its reset leaves the driver reading ROM answers: the next step reaches the bootloader again', async () => {
    const { driver } = inMemory({ chip: 'esp32s3' });
    expect(await driver.identify()).toEqual({ serial: MAC });
    const abort = new AbortController();
    abort.abort();
    await expect(driver.reboot({ signal: abort.signal })).rejects.toMatchObject({ code: 'CANCELLED', where: { step: 'reboot' } });
    // The line was switched to the application's text for the reset that never ran: the ROM's answers must still be packets.
    expect(await driver.identify()).toEqual({ serial: MAC });
  });

  it('a chip that sends packets that answer nothing fails the command within its timeout, not 100 timeouts later', async () => {
    // Every stray packet lands just before the 3 s MD5 timeout: read by read, each would restart the wait (esptool-js reads up to 100).
    const profile = profileFor('esp32c3', { credentials: { nvsPartition: { offset: '0x9000', size: '0x6000' } } });
    const { driver } = await onPty({ chip: 'esp32c3', faults: { straysInsteadOf: { op: ROM_COMMAND.SPI_FLASH_MD5, everyMs: 2900 } } }, profile);
    await driver.identify();
    const started = performance.now();
    const error = (await driver.verifyCredentials(credentials).catch((e: unknown) => e)) as StationError;
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: 'ROM_NOT_ANSWERING', retryable: true, where: { port: driver.port, step: 'verify-credentials' } });
    expect(error.describe()).toMatch(/the chip sent 1 packet that did not answer SPI_FLASH_MD5 within 3000 ms.*no other program/);
    // The command's own 3 s, with margin for a busy machine; without the deadline this takes about 290 s.
    expect(elapsed).toBeGreaterThanOrEqual(2900);
    expect(elapsed).toBeLessThan(9000);
  }, 30_000);

  it('a stray SLIP END (one 0xC0 of line noise) between answers: the answers after it are still read, the flash still verified', async () => {
    // The noise comes once, just before the first answer to SPI_FLASH_MD5: the verify of the first of three parts.
    const { driver } = await onPty({ chip: 'esp32c3', faults: { noiseBeforeAnswer: { op: ROM_COMMAND.SPI_FLASH_MD5, bytes: Uint8Array.of(0xc0) } } });
    await driver.identify();
    const started = performance.now();
    await driver.flash(firmware('esp32c3').image);
    // No answer waited out its 3 s timeout.
    expect(performance.now() - started).toBeLessThan(2500);
  }, 30_000);

  it("packets that answer nothing where GET_SECURITY_INFO's answer is expected: the chip is still told by its magic value, within two timeouts", async () => {
    const { driver } = await onPty({ chip: 'esp32s3', faults: { straysInsteadOf: { op: ROM_COMMAND.GET_SECURITY_INFO, everyMs: 2900 } } });
    const started = performance.now();
    // esptool-js asks twice (20-byte and 12-byte layouts), 3 s each, then syncs again and reads the magic register.
    expect(await driver.identify()).toEqual({ serial: MAC });
    expect(performance.now() - started).toBeLessThan(20_000);
    await driver.flash(firmware('esp32s3').image);
  }, 60_000);

  it('a unit that never confirmed SPI_ATTACH is not taken as attached by the next step', async () => {
    const { driver } = await onPty({ chip: 'esp32c3', faults: { straysInsteadOf: { op: ROM_COMMAND.SPI_ATTACH, everyMs: 1000 } } });
    await expect(driver.identify()).rejects.toMatchObject({ code: 'ROM_NOT_ANSWERING', message: expect.stringMatching(/did not answer SPI_ATTACH/) });
    // The retry connects and attaches again, and fails the same way: it does not read the MAC from a half-set-up ROM.
    await expect(driver.identify()).rejects.toMatchObject({ code: 'ROM_NOT_ANSWERING', message: expect.stringMatching(/did not answer SPI_ATTACH/) });
  }, 30_000);

  it('the same while flashing: a block esptool-js sends three times fails after three timeouts, not 300', async () => {
    const { driver } = await onPty({ chip: 'esp32', faults: { straysInsteadOf: { op: ROM_COMMAND.FLASH_DEFL_DATA, everyMs: 2900 } } });
    const started = performance.now();
    const error = (await driver.flash(firmware('esp32').image).catch((e: unknown) => e)) as StationError;
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: 'ROM_NOT_ANSWERING', where: { step: 'flash' } });
    expect(error.message).toMatch(/^the chip sent \d+ packets? that did not answer FLASH_DEFL_DATA within 3000 ms$/);
    expect(elapsed).toBeGreaterThanOrEqual(3 * 2900);
    expect(elapsed).toBeLessThan(25_000);
  }, 60_000);

  it('an image that does not fit the unit\'s flash: refused before anything is erased, naming the part and both sizes', async () => {
    const { host, driver } = inMemory({ chip: 'esp32s3', flashSize: 2 * 1024 * 1024 });
    const build = buildDemoFirmware({ chip: 'esp32s3', version: '4.2.0' });
    const big = [...build.parts.filter((part) => part.name !== 'app'), { name: 'app', offset: 0x10000, data: new Uint8Array(2 * 1024 * 1024).fill(0x5a) }];
    const before = Buffer.from(host.simulator.flash.bytes);
    const error = (await driver.flash(partedFirmwareImage(big, 'v-big')).catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', retryable: false, where: { port: driver.port, step: 'flash' } });
    expect(error.describe()).toContain("app at 0x10000 (2097152 bytes) ends past the end of this unit's 2 MB flash");
    expect(Buffer.from(host.simulator.flash.bytes).equals(before)).toBe(true);
  });

  it('flash write error (a bad sector): names the ROM error and says to set the unit aside if it repeats', async () => {
    const { driver } = inMemory({ chip: 'esp32', faults: { badSectorAt: 0x10000 } });
    const error = (await driver.flash(firmware('esp32').image).catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'FLASH_WRITE_FAILED', where: { step: 'flash' } });
    expect(error.describe()).toMatch(/could not write compressed data to flash after seq 0: flash write error.*set it aside/);
  });

  it('MD5 mismatch (a weak flash bit): names the part and both digests', async () => {
    const { driver } = inMemory({ chip: 'esp32s3', faults: { weakBitAt: 0x11000 } });
    const error = (await driver.flash(firmware('esp32s3').image).catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'FLASH_VERIFY_FAILED', where: { step: 'flash' } });
    expect(error.describe()).toMatch(/the flash at 0x10000 \(app\) holds different bytes than were written \(chip MD5 [0-9a-f]{32}, expected [0-9a-f]{32}\).*set it aside/);
  });

  it('unplug mid-flash: a disconnect at the flash step, seen within a second', async () => {
    let unpluggedAt = 0;
    const host = await startEsp32OnPty({
      chip: 'esp32',
      mac: MAC,
      faults: { unplugAfterBytes: 64 * 1024 },
      hangUp: () => {
        unpluggedAt = performance.now();
        host.unplug();
      },
    });
    hosts.push(host);
    const driver = new Esp32Driver(await openPort(host.path), profileFor('esp32'));
    drivers.push(driver);
    const error = (await driver.flash(firmware('esp32').image).catch((e: unknown) => e)) as StationError;
    expect(error).toBeInstanceOf(PortDisconnectedError);
    expect(error.where).toMatchObject({ port: driver.port, step: 'flash' });
    expect(error.describe()).toContain(driver.port);
    expect(performance.now() - unpluggedAt).toBeLessThan(1000);
  });

  it('never quotes the api key from the application log in an error', async () => {
    const profile = profileFor('esp32s3', { boot: { versionPattern: 'Firmware (?<version>\\S+)', timeoutMs: 800 } });
    const { driver } = inMemory({ chip: 'esp32s3', appLines: [`I (500) main: provisioned with key ${credentials.apiKey}`] }, profile);
    await driver.flash(firmware('esp32s3').image);
    await driver.writeCredentials(credentials);
    const error = (await driver.reboot().catch((e: unknown) => e)) as StationError;
    expect(error.describe()).toContain('(last line: "I (500) main: provisioned with key [api key]")');
    expect(error.describe()).not.toContain(credentials.apiKey);
  });

  it('nor a piece of it, from a log line cut off mid-key', async () => {
    const profile = profileFor('esp32s3', { boot: { versionPattern: 'Firmware (?<version>\\S+)', timeoutMs: 800 } });
    const { driver } = inMemory({ chip: 'esp32s3', appLines: [`I (500) main: provisioned with key ${credentials.apiKey.slice(0, 12)}`] }, profile);
    await driver.flash(firmware('esp32s3').image);
    await driver.writeCredentials(credentials);
    const error = (await driver.reboot().catch((e: unknown) => e)) as StationError;
    expect(error.describe()).toContain('(last line: "I (500) main: provisioned with key [api key]")');
    expect(error.describe()).not.toContain(credentials.apiKey.slice(0, 4));
  });

  /** Bytes an application may print that a terminal would obey: OSC retitling the window, CSI clearing it, RIS, C1 CSI, U+202E (as UTF-8). */
  const TERMINAL_ATTACK = `\x1b]0;pwned\x07\x1b[2J\x1bc\x9b31m${Buffer.from('\u202e', 'utf8').toString('latin1')}evil`;
  const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

  it('quotes a boot log line with terminal escapes printable and short', async () => {
    const profile = profileFor('esp32s3', { boot: { versionPattern: 'Firmware (?<version>\\S+)', timeoutMs: 800 } });
    const installed = buildDemoFirmware({ chip: 'esp32s3', version: '1.0.0' });
    const { driver } = inMemory({ chip: 'esp32s3', flashContents: installed.parts, appLines: [`E (500) main: ${TERMINAL_ATTACK} ${'x'.repeat(2000)}`] }, profile);
    const error = (await driver.reboot().catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'BOOT_FAILED', where: { step: 'reboot' } });
    const described = error.describe();
    // The ESP-IDF colour sequence (CSI) is dropped as before; everything else is shown, never sent to the terminal.
    expect(described).toContain('(last line: "E (500) main: \\x1b]0;pwned\\x07\\x1bc\\x9b31m\u00e2\\x80\u00aeevil xxx');
    expect(described).not.toMatch(CONTROL);
    // A line of up to maxLineLength (512) is quoted as an excerpt.
    const quoted = /last line: "([^"]*)"/.exec(described)![1]!;
    expect(quoted.length).toBeLessThanOrEqual(200);
    expect(quoted.endsWith('…')).toBe(true);
  });

  it('refuses a version from the boot log that holds terminal escapes, quoting it printable', async () => {
    const profile = profileFor('esp32c3', { boot: { versionPattern: 'firmware: (?<version>.+)' } });
    const installed = buildDemoFirmware({ chip: 'esp32c3', version: '1.0.0' });
    const { driver } = inMemory({ chip: 'esp32c3', flashContents: installed.parts, appLines: [`I (402) main: firmware: 1.1.0${TERMINAL_ATTACK}`] }, profile);
    const error = (await driver.reboot().catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'PROTOCOL', where: { port: driver.port, step: 'reboot' } });
    expect(error.describe()).toContain('the application printed a version that holds control characters ("1.1.0\\x1b]0;pwned\\x07\\x1bc\\x9b31m');
    expect(error.describe()).toMatch(/boot\.versionPattern/);
    expect(error.describe()).not.toMatch(CONTROL);
  });

  it('refuses a serial number from the boot log that holds terminal escapes, quoting it printable', async () => {
    const profile = profileFor('esp32c3', { serialNumber: { source: 'boot-output', pattern: 'serial number: (?<serial>.+)' } });
    const installed = buildDemoFirmware({ chip: 'esp32c3', version: '1.0.0' });
    const { driver } = inMemory({ chip: 'esp32c3', flashContents: installed.parts, appLines: [`I (402) main: serial number: THERM-42${TERMINAL_ATTACK}`] }, profile);
    const error = (await driver.identify().catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'PROTOCOL', where: { step: 'identify' } });
    expect(error.describe()).toContain('serial number that is not 1 to 64 printable characters ("THERM-42\\x1b]0;pwned\\x07\\x1bc\\x9b31m\u00e2\\x80\u00aeevil")');
    expect(error.describe()).not.toMatch(CONTROL);
  });

  it('an image that does not boot: the reboot fails with the boot log line that says why', async () => {
    const { build } = firmware('esp32c3');
    // A broken build: the app's checksum byte is wrong, so the bootloader refuses it (the flash itself is faithful).
    const parts = build.parts.map((part) => (part.name === 'app' ? { ...part, data: Uint8Array.from(part.data, (byte, i) => (i === part.data.length - 33 ? byte ^ 0xff : byte)) } : part));
    const { driver } = inMemory({ chip: 'esp32c3' }, profileFor('esp32c3', { boot: { timeoutMs: 1500 } }));
    await driver.flash(partedFirmwareImage(parts, 'broken'));
    const error = (await driver.reboot().catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'BOOT_FAILED', where: { step: 'reboot' } });
    expect(error.describe()).toMatch(/did not report its version within 1500 ms of the reset \(last line: "E \(113\) boot: No bootable app partitions in the partition table"\).*did not start/);
  });
});
