import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { referenceProfile } from '../../main/core/devices/profile/load-profile.ts';
import { ProfileDriver } from '../../main/core/devices/profile-driver.ts';
import { createMemoryPortPair } from '../../main/core/ports/memory-port.ts';
import { DeviceSimulator } from '../../main/core/simulator/device-simulator.ts';

describe('device simulator in-process', () => {
  it('runs the whole reference conversation over an in-memory line', async () => {
    const [station, device] = createMemoryPortPair('sim://unit-1');
    const simulator = new DeviceSimulator(device, { serial: 'MEM-1', version: 'old', bootDelayMs: 10 });
    const driver = new ProfileDriver(station, referenceProfile);
    const data = randomBytes(5000);
    const image = { data, sha256: createHash('sha256').update(data).digest('hex'), versionId: 'new' };

    expect(await driver.identify()).toEqual({ serial: 'MEM-1' });
    expect(await driver.readVersion()).toBe('old');
    await driver.flash(image);
    expect(await driver.reboot()).toEqual({ serial: 'MEM-1', version: 'new' });
    await driver.close();
    await simulator.done;
  });

  it('refuses an image larger than its flash, keeping the old one', async () => {
    const [station, device] = createMemoryPortPair('sim://unit-2');
    const simulator = new DeviceSimulator(device, { serial: 'MEM-2', version: 'old', flashSize: 1000 });
    const driver = new ProfileDriver(station, referenceProfile);
    const data = randomBytes(2000);
    const error = await driver.flash({ data, sha256: createHash('sha256').update(data).digest('hex'), versionId: 'new' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ deviceCode: 'BADARG', where: { step: 'flash' } });
    expect(simulator.version).toBe('old');
    await driver.close();
  });

  it('answers an unknown command with ERR UNKNOWN and keeps going', async () => {
    const [station, device] = createMemoryPortPair('sim://unit-3');
    new DeviceSimulator(device, { serial: 'MEM-3' });
    const chunks: Buffer[] = [];
    station.onData((chunk) => chunks.push(chunk));
    await station.write(Buffer.from('SELFDESTRUCT\nPING\n'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Buffer.concat(chunks).toString()).toBe('ERR UNKNOWN SELFDESTRUCT\nPONG\n');
    await station.close();
  });
});
