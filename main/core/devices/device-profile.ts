import type { BytePort, SerialSettings } from '../ports/byte-port.ts';
import { DEFAULT_SERIAL_SETTINGS } from '../ports/byte-port.ts';
import { ConfigError } from '../errors.ts';
import { parseOrThrow } from '../validation.ts';
import type { DeviceDriver, DriverCapabilities } from './driver.ts';
import { Esp32Driver } from './esp32/esp32-driver.ts';
import { esp32Capabilities, esp32ProfileSchema, type Esp32Profile } from './esp32/esp32-profile.ts';
import { ProfileDriver, profileCapabilities } from './profile-driver.ts';
import { textProfileSchema, type TextProfile } from './profile/schema.ts';

/** Any device profile: `driver` names its kind ("text" when absent). */
export type DeviceProfile = TextProfile | Esp32Profile;

/**
 * A kind of device driver: the schema of its profiles, what its units can
 * do, how their port is opened, and the driver itself. A new kind (STM32's
 * system bootloader, MCUboot) is one more entry here and a folder of its own.
 */
interface DriverKind<P extends DeviceProfile> {
  schema: { safeParse(data: unknown): { success: boolean } };
  parse(data: unknown, source: string): P;
  capabilities(profile: P): DriverCapabilities;
  /** How the port is opened before the driver speaks. */
  serialSettings(profile: P): SerialSettings;
  createDriver(port: BytePort, profile: P): DeviceDriver;
}

const KINDS: { [K in DeviceProfile['driver']]: DriverKind<Extract<DeviceProfile, { driver: K }>> } = {
  text: {
    schema: textProfileSchema,
    parse: (data, source) => parseOrThrow(textProfileSchema, data, source, 'Fix the fields named above; profiles/README.md describes every field.'),
    capabilities: profileCapabilities,
    serialSettings: (profile) => profile.serial,
    createDriver: (port, profile) => new ProfileDriver(port, profile),
  },
  esp32: {
    schema: esp32ProfileSchema,
    parse: (data, source) => parseOrThrow(esp32ProfileSchema, data, source, 'Fix the fields named above; profiles/README.md describes the ESP32 profile.'),
    capabilities: esp32Capabilities,
    // The ROM bootloader listens at its rate, 8N1; the driver raises the rate itself where the port allows.
    serialSettings: (profile) => ({ ...DEFAULT_SERIAL_SETTINGS, baudRate: profile.romBaudRate }),
    createDriver: (port, profile) => new Esp32Driver(port, profile),
  },
};

export const DRIVER_KINDS = Object.keys(KINDS) as Array<DeviceProfile['driver']>;

function kindOf<P extends DeviceProfile>(profile: P): DriverKind<P> {
  return KINDS[profile.driver] as unknown as DriverKind<P>;
}

/** Validates a profile of any kind; errors name the source and each wrong field. */
export function parseDeviceProfile(data: unknown, source = 'device profile'): DeviceProfile {
  const named = typeof data === 'object' && data !== null ? (data as { driver?: unknown }).driver : undefined;
  const kind = named === undefined ? 'text' : named;
  if (typeof kind !== 'string' || !Object.hasOwn(KINDS, kind)) {
    throw new ConfigError(`${source} is invalid: driver: "${String(kind)}" is not a driver kind this station has (${DRIVER_KINDS.join(', ')})`);
  }
  return KINDS[kind as DeviceProfile['driver']].parse(data, source);
}

/** What a unit under this profile can do: the pipeline plans from it. */
export function capabilitiesOf(profile: DeviceProfile): DriverCapabilities {
  return kindOf(profile).capabilities(profile);
}

/** How a port for this profile is opened. */
export function serialSettingsOf(profile: DeviceProfile): SerialSettings {
  return kindOf(profile).serialSettings(profile);
}

/** The driver that speaks to a unit of this profile on an open port. */
export function createDriver(port: BytePort, profile: DeviceProfile): DeviceDriver {
  return kindOf(profile).createDriver(port, profile);
}
