import { afterEach, describe, expect, it } from 'vitest';
import { referenceProfile } from '../../main/core/devices/profile/load-profile.ts';
import { ProfileDriver } from '../../main/core/devices/profile-driver.ts';
import { DeviceError } from '../../main/core/errors.ts';
import type { TextProfile } from '../../main/core/devices/profile/schema.ts';
import { StationError } from '../../main/core/errors.ts';
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

  /** A unit that answers each command line with `answer(command)`, sent as is: a line ending is the answer's own. */
  async function echoingUnit(answer: (command: string) => string, profile: TextProfile = referenceProfile): Promise<ProfileDriver> {
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
        void device.write(Buffer.from(answer(command), 'latin1'));
      }
    });
    const driver = new ProfileDriver(await openPort(pair.a, { settings: profile.serial }), profile);
    cleanup.push(() => driver.close());
    return driver;
  }

  it('writing credentials: the refusal is reported without the key', async () => {
    const driver = await echoingUnit((command) => `ERR BADARG cannot store: ${command}\n`);
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
    const driver = await echoingUnit(() => `ERR STORAGE key ${credentials.apiKey} unreadable\n`);
    const error = await driver.verifyCredentials(credentials).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as DeviceError).describe()).not.toContain(credentials.apiKey);
  });

  /** Every way the key's first bytes could be quoted: as text, or in the reader's hex preview. */
  function expectNoKeyFragment(error: unknown): string {
    expect(error).toBeInstanceOf(StationError);
    const described = (error as StationError).describe();
    const prefix = Buffer.from(credentials.apiKey.slice(0, 3), 'latin1');
    expect(described).not.toContain(credentials.apiKey.slice(0, 3));
    expect(described).not.toContain(Array.from(prefix, (byte) => byte.toString(16).padStart(2, '0')).join(' '));
    return described;
  }

  /** Short answers keep the silent-unit cases quick; still far above a pty's echo time. */
  const quickProfile: TextProfile = { ...referenceProfile, responseTimeoutMs: 1500 };
  const cutCredentials = { thingId: 't1', apiKey: credentials.apiKey };

  it('writing credentials: a unit that echoes part of the key and goes silent times out without quoting it', async () => {
    // "CREDS SET t1 k3y-0123": the echo is cut mid-key, with no line ending, so only the timeout can report it.
    const driver = await echoingUnit((command) => command.slice(0, 'CREDS SET t1 '.length + 8), quickProfile);
    const error = await driver.writeCredentials(cutCredentials).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    const described = expectNoKeyFragment(error);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect(described).toContain('it sent 21 bytes that are not a full line (not shown: the unit was given the api key)');
  });

  it('writing credentials: an echo of the key with a stray control byte is refused without quoting it', async () => {
    const driver = await echoingUnit((command) => `${command.slice(0, 'CREDS SET t1 '.length + 8)}\x00\n`, quickProfile);
    const error = await driver.writeCredentials(cutCredentials).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    const described = expectNoKeyFragment(error);
    expect(described).toContain('the device sent 22 bytes that are not text (not shown: the unit was given the api key)');
  });

  it('writing credentials: a refusal that quotes the command cut off mid-key is reported without the piece of key', async () => {
    // Firmware that quotes at most 21 characters of what it refuses: "CREDS SET t1 k3y-0123".
    const driver = await echoingUnit((command) => `ERR BADARG cannot store: ${command.slice(0, 21)}\n`, quickProfile);
    const error = await driver.writeCredentials(cutCredentials).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DeviceError);
    const described = expectNoKeyFragment(error);
    expect(described).toContain('BADARG');
    expect(described).toContain('cannot store: CREDS SET t1 [api key]');
  });

  it('verifying credentials: an answer cut off mid-key times out without quoting it', async () => {
    const driver = await echoingUnit(() => `CREDS t1 ${credentials.apiKey.slice(0, 5)}`, quickProfile);
    const error = await driver.verifyCredentials(cutCredentials).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    const described = expectNoKeyFragment(error);
    expect(described).toContain('it sent 14 bytes that are not a full line (not shown');
  });
});
