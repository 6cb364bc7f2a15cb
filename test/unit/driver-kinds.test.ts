import { describe, expect, it } from 'vitest';
import { capabilitiesOf, parseDeviceProfile, serialSettingsOf } from '../../main/core/devices/device-profile.ts';
import { BUILT_IN_PROFILES, referenceProfile } from '../../main/core/devices/profile/load-profile.ts';

describe('device profiles by driver kind', () => {
  it('a profile without "driver" is a text profile, as every existing profile was', () => {
    const { driver, ...withoutDriver } = referenceProfile;
    expect(driver).toBe('text');
    expect(parseDeviceProfile(withoutDriver)).toMatchObject({ driver: 'text', name: 'reference' });
  });

  it('"esp32" picks the ESP32 driver kind: its own schema, capabilities and port settings', () => {
    const profile = parseDeviceProfile({ driver: 'esp32', name: 'my-board', chip: 'esp32c3', romBaudRate: 115200, flashBaudRate: 921600 });
    expect(profile).toMatchObject({ driver: 'esp32', chip: 'esp32c3' });
    expect(capabilitiesOf(profile)).toEqual({ readVersion: false, credentials: true, flash: true, reboot: true });
    expect(serialSettingsOf(profile)).toEqual({ baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 });
    // A text profile's fields are not an ESP32 profile's: the error names the field.
    expect(() => parseDeviceProfile({ driver: 'esp32', name: 'x', chip: 'esp32', commands: {} }, 'profiles/x.json')).toThrow(/profiles\/x\.json is invalid: .*commands/);
  });

  it('refuses a driver kind the station does not have, naming the ones it has', () => {
    expect(() => parseDeviceProfile({ driver: 'stm32', name: 'x' }, 'profiles/stm.json')).toThrow('profiles/stm.json is invalid: driver: "stm32" is not a driver kind this station has (text, esp32)');
  });

  it('has the ESP32 development boards built in beside the reference profiles', () => {
    expect(Object.keys(BUILT_IN_PROFILES)).toEqual(['reference', 'reference-window', 'esp32-devkit', 'esp32s3-devkit', 'esp32c3-devkit']);
  });
});
