import { afterEach, describe, expect, it } from 'vitest';
import { referenceProfile } from '../../main/core/devices/profile/load-profile.ts';
import { ProfileDriver } from '../../main/core/devices/profile-driver.ts';
import { DeviceError } from '../../main/core/errors.ts';
import type { BytePort } from '../../main/core/ports/byte-port.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { makePtyPair, type PtyPair } from '../helpers/pty-pair.ts';

const credentials = { thingId: 'a'.repeat(32), apiKey: 'k3y-0123456789abcdef0123456789ab' };

/**
 * A unit's firmware may quote the command it refuses ("ERR BADARG CREDS SET
 * … <key>"): its error text goes into the tile, the journal's error column
 * and every history export, so the key written to it must not.
 */
describe('a device that echoes the api key in its error', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function echoingUnit(answer: (command: string) => string): Promise<ProfileDriver> {
    const pair: PtyPair = await makePtyPair();
    cleanup.push(() => pair.dispose());
    const device: BytePort = await openPort(pair.b, { settings: referenceProfile.serial });
    cleanup.push(() => device.close());
    let pending = '';
    device.onData((chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const command = pending.slice(0, end).replace(/\r$/, '');
        pending = pending.slice(end + 1);
        void device.write(Buffer.from(`${answer(command)}\n`, 'latin1'));
      }
    });
    const driver = new ProfileDriver(await openPort(pair.a, { settings: referenceProfile.serial }), referenceProfile);
    cleanup.push(() => driver.close());
    return driver;
  }

  it('writing credentials: the refusal is reported without the key', async () => {
    const driver = await echoingUnit((command) => `ERR BADARG cannot store: ${command}`);
    const error = await driver.writeCredentials(credentials).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DeviceError);
    const described = (error as DeviceError).describe();
    expect(described).toContain('BADARG');
    expect(described).toContain('[api key]');
    expect(described).not.toContain(credentials.apiKey);
    expect((error as DeviceError).deviceText).not.toContain(credentials.apiKey);
  });

  it('verifying credentials: the refusal is reported without the key', async () => {
    const driver = await echoingUnit(() => `ERR STORAGE key ${credentials.apiKey} unreadable`);
    const error = await driver.verifyCredentials(credentials).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as DeviceError).describe()).not.toContain(credentials.apiKey);
  });
});
