import { afterEach, describe, expect, it } from 'vitest';
import { parseTextProfile, referenceProfile } from '../../main/core/devices/profile/load-profile.ts';
import { ProfileDriver } from '../../main/core/devices/profile-driver.ts';
import { DeviceError, StationError } from '../../main/core/errors.ts';
import { createMemoryPortPair } from '../../main/core/ports/memory-port.ts';

/**
 * The reference reader passes only printable lines (and tabs), but of up to
 * maxLineLength (4096 at most): what a unit says is quoted in errors that go
 * to tiles, terminals and the journal, printable and as a short excerpt.
 */
describe('a text-protocol unit quoted in errors', () => {
  const drivers: ProfileDriver[] = [];
  afterEach(async () => {
    await Promise.all(drivers.splice(0).map((driver) => driver.close()));
  });

  /** A unit on an in-memory line that answers each command line with `answer(command)`. */
  function unit(answer: (command: string) => string, profile = parseTextProfile({ ...referenceProfile, maxLineLength: 4096 })): ProfileDriver {
    const [station, device] = createMemoryPortPair('sim://quoting');
    let pending = '';
    device.onData((chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const command = pending.slice(0, end);
        pending = pending.slice(end + 1);
        void device.write(Buffer.from(answer(command), 'latin1'));
      }
    });
    const driver = new ProfileDriver(station, profile);
    drivers.push(driver);
    return driver;
  }

  it("quotes a long device error's text as a short printable excerpt", async () => {
    const driver = unit(() => `ERR BADARG cannot\tread ${'x'.repeat(3000)}\n`);
    const error = (await driver.identify().catch((e: unknown) => e)) as DeviceError;
    expect(error).toBeInstanceOf(DeviceError);
    expect(error).toMatchObject({ deviceCode: 'BADARG', where: { step: 'identify' } });
    expect(error.deviceText.startsWith('cannot\\x09read xxx')).toBe(true);
    expect(error.deviceText.length).toBeLessThanOrEqual(200);
    expect(error.message.length).toBeLessThan(300);
  });

  it('quotes a long serial number that does not match the profile as a short printable excerpt', async () => {
    const driver = unit(() => `SERIAL ${'S'.repeat(3000)}\n`);
    const error = (await driver.identify().catch((e: unknown) => e)) as StationError;
    expect(error).toMatchObject({ code: 'PROTOCOL', where: { step: 'identify' } });
    expect(error.message).toMatch(/^the unit reported serial number "S+…", which does not match/);
    expect(error.message.length).toBeLessThan(300);
  });
});
