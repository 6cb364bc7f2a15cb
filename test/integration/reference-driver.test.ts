import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { FirmwareImage } from '../../main/core/devices/driver.ts';
import { parseTextProfile, referenceProfile, referenceWindowProfile } from '../../main/core/devices/profile/load-profile.ts';
import { ProfileDriver } from '../../main/core/devices/profile-driver.ts';
import { DeviceError, PortDisconnectedError, ProtocolError, StationError } from '../../main/core/errors.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { keyHash, type SimulatorOptions } from '../../main/core/simulator/device-simulator.ts';
import { startSimulatorOnPty, startSimulatorOnTcp, type PtySimulator } from '../../main/core/simulator/simulator-hosts.ts';
import { cpuSince, expectIdle, markCpu, measureCpuOver, type CpuMark } from '../helpers/cpu.ts';

const SERIAL = 'THERM00000000000042';
const credentials = { thingId: 'a'.repeat(32), apiKey: '0123456789abcdef0123456789abcdef' };

function image(size: number, versionId = 'f'.repeat(32)): FirmwareImage {
  const data = randomBytes(size);
  return { data, sha256: createHash('sha256').update(data).digest('hex'), versionId };
}

describe('reference driver against the device simulator on a real pty', () => {
  const running: PtySimulator[] = [];
  const drivers: ProfileDriver[] = [];
  afterEach(async () => {
    await Promise.all(drivers.splice(0).map((driver) => driver.close()));
    await Promise.all(running.splice(0).map((sim) => sim.stop()));
  });

  async function connect(options: Partial<SimulatorOptions> = {}, profile = referenceProfile) {
    const sim = await startSimulatorOnPty({ serial: SERIAL, ...options });
    running.push(sim);
    const driver = new ProfileDriver(await openPort(sim.path, { settings: profile.serial }), profile);
    drivers.push(driver);
    return { sim, driver };
  }

  /** Flashes 1 MiB with progress to the end, and checks the unit now runs it. */
  async function flashOneMiB(sim: PtySimulator, driver: ProfileDriver): Promise<FirmwareImage> {
    const firmware = image(1 << 20);
    const progress: number[] = [];
    await driver.flash(firmware, { onProgress: (p) => progress.push(p.bytesDone) });
    expect(progress.at(-1)).toBe(1 << 20);
    expect(sim.simulator.flashCount).toBe(1);
    expect(await driver.readVersion()).toBe(firmware.versionId);
    return firmware;
  }

  it('identifies, reads the version, writes and verifies credentials, flashes 1 MiB, reboots', async () => {
    const { sim, driver } = await connect({ noiseIntervalMs: 15 });
    expect(await driver.identify()).toEqual({ serial: SERIAL });
    expect(await driver.readVersion()).toBeUndefined();

    await driver.writeCredentials(credentials);
    await driver.verifyCredentials(credentials);
    expect(sim.simulator.storedCredentials).toEqual(credentials);

    const firmware = await flashOneMiB(sim, driver);
    expect(await driver.reboot()).toEqual({ serial: SERIAL, version: firmware.versionId });
  });

  it('flashes 1 MiB with the windowed transfer (reference-window profile), with unsolicited log lines on the line', async () => {
    const { sim, driver } = await connect({ transfer: 'ymodem-window', noiseIntervalMs: 15 }, referenceWindowProfile);
    await flashOneMiB(sim, driver);
  });

  it('a unit that only speaks YMODEM tells a windowed sender in time, instead of hanging', async () => {
    const { driver } = await connect({ transfer: 'ymodem' }, parseTextProfile({ ...referenceWindowProfile, commands: { ...referenceWindowProfile.commands, flash: { ...referenceWindowProfile.commands.flash!, startTimeoutMs: 1000 } } }));
    const error = await driver.flash(image(4096)).catch((e: unknown) => e);
    expect((error as StationError).describe()).toMatch(/step flash: no answer from the receiver to start \(W\).*ymodem-window/);
  });

  it('refuses credentials that do not match what the unit holds', async () => {
    const { driver } = await connect();
    await driver.writeCredentials(credentials);
    const other = { ...credentials, apiKey: 'f'.repeat(32) };
    await expect(driver.verifyCredentials(other)).rejects.toMatchObject({ code: 'CREDENTIALS_MISMATCH' });
  });

  it('surfaces a device ERR answer with its code and text, and never as retryable when it is STORAGE', async () => {
    const { driver } = await connect({ faults: { refuseCredentials: true } });
    const error = await driver.writeCredentials(credentials).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceError);
    expect(error).toMatchObject({ deviceCode: 'STORAGE', retryable: false, where: { step: 'write-credentials' } });
    expect((error as DeviceError).describe()).toContain('non-volatile memory write failed');
    // The api key never appears in what the technician sees.
    expect((error as DeviceError).describe()).not.toContain(credentials.apiKey);
  });

  it('reports a corrupted image as a checksum error from the device', async () => {
    const { sim, driver } = await connect({ faults: { corruptImage: true } });
    const error = await driver.flash(image(64 * 1024)).catch((e: unknown) => e);
    expect(error).toMatchObject({ deviceCode: 'CHECKSUM', where: { step: 'flash' } });
    expect(sim.simulator.version).toBeUndefined();
  });

  it('gives a clear protocol error for binary noise', async () => {
    const { driver } = await connect({ faults: { garbage: 'binary' } });
    const error = await driver.identify().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).describe()).toMatch(/port .*step identify: the device sent 24 bytes that are not text \([0-9a-f ]+…\)/);
  });

  it('gives a clear protocol error for an over-long line, and recovers on the next command', async () => {
    const { sim, driver } = await connect({ faults: { garbage: 'long-line' } });
    await expect(driver.identify()).rejects.toThrow(/longer than the 256-byte limit/);
    // The station drops the rest of that line rather than buffering it.
    (sim.simulator as unknown as { options: SimulatorOptions }).options.faults = {};
    expect(await driver.identify()).toEqual({ serial: SERIAL });
  });

  it('refuses a serial number that does not match the profile pattern', async () => {
    const profile = parseTextProfile({ ...referenceProfile, serialNumberPattern: '^SN[0-9]+$' });
    const { driver } = await connect({}, profile);
    await expect(driver.identify()).rejects.toThrow(/serial number "THERM00000000000042", which does not match/);
  });

  it('reports an unplug mid-flash within 1 s; little CPU while open and idle, until both ends noticed the unplug, and after', async () => {
    let unplugged: CpuMark | undefined;
    const sim = await startSimulatorOnPty({
      serial: SERIAL,
      faults: { hangUpAfterBytes: 256 * 1024 },
      hangUp: () => {
        unplugged = markCpu();
        sim.unplug();
      },
    });
    running.push(sim);
    const driver = new ProfileDriver(await openPort(sim.path), referenceProfile);
    drivers.push(driver);
    expect(await driver.identify()).toEqual({ serial: SERIAL });
    // The station and the unit (in this process too) both hold the line open, waiting.
    expectIdle(await measureCpuOver(1000), 'open and idle');

    const error = await driver.flash(image(1 << 20)).catch((e: unknown) => e);
    const detectedAfterMs = performance.now() - unplugged!.at;
    expect(error).toBeInstanceOf(PortDisconnectedError);
    expect((error as StationError).describe()).toMatch(/step flash: .*(unplugged|hung up|closed)/);
    expect(detectedAfterMs).toBeLessThan(1000);
    // The unit's end (a port in this process too) must notice as well, without spinning meanwhile.
    await sim.simulator.done;
    expectIdle(cpuSince(unplugged!), 'unplugged, until both ends noticed');
    expectIdle(await measureCpuOver(1000), 'after the unplug');
  });

  it('talks to a vendor AT-style profile without code', async () => {
    const profile = parseTextProfile(JSON.parse(readFileSync('profiles/examples/at-thermometer.json', 'utf8')));
    const { sim, driver } = await connect({ dialect: 'at', version: '1.4.2', noiseIntervalMs: 20 }, profile);
    expect(await driver.identify()).toEqual({ serial: SERIAL });
    expect(await driver.readVersion()).toBe('1.4.2');
    await driver.writeCredentials(credentials);
    await driver.verifyCredentials(credentials);
    expect(keyHash(sim.simulator.storedCredentials!.apiKey)).toBe(keyHash(credentials.apiKey));
    expect(driver.capabilities.flash).toBe(false);
    await expect(driver.flash(image(10))).rejects.toThrow(/has no flash command/);
  });

  it('surfaces an AT "+CME ERROR" with its code', async () => {
    const profile = parseTextProfile(JSON.parse(readFileSync('profiles/examples/at-thermometer.json', 'utf8')));
    const { driver } = await connect({ dialect: 'at' }, profile);
    await expect(driver.verifyCredentials(credentials)).rejects.toMatchObject({ deviceCode: '30' });
  });
});

describe('reference driver over a raw-TCP serial device server', () => {
  it('identifies and flashes through tcp://', async () => {
    const server = await startSimulatorOnTcp({ serial: SERIAL });
    const driver = new ProfileDriver(await openPort(server.url), referenceProfile);
    try {
      expect(await driver.identify()).toEqual({ serial: SERIAL });
      const firmware = image(200_000);
      await driver.flash(firmware);
      expect(await driver.readVersion()).toBe(firmware.versionId);
    } finally {
      await driver.close();
      await server.stop();
    }
  });

  it('notices the server dropping the connection within 1 s', async () => {
    const server = await startSimulatorOnTcp({ serial: SERIAL, answerDelayMs: 5000 });
    const port = await openPort(server.url);
    const driver = new ProfileDriver(port, referenceProfile);
    const started = performance.now();
    setTimeout(() => void server.stop(), 100);
    await expect(driver.identify()).rejects.toBeInstanceOf(PortDisconnectedError);
    expect(performance.now() - started).toBeLessThan(1100);
    await driver.close();
  });
});
