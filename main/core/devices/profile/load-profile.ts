import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';
import { parseJson, parseOrThrow } from '../../validation.ts';
import { parseDeviceProfile, type DeviceProfile } from '../device-profile.ts';
import { ESP32_BUILT_IN_PROFILES } from '../esp32/builtin-profiles.ts';
import { REFERENCE_PROFILE, REFERENCE_WINDOW_PROFILE } from './reference-profile.ts';
import { textProfileSchema, type TextProfile } from './schema.ts';

/** Validates a profile of any driver kind; errors name the source and each bad field. */
export const parseProfile = parseDeviceProfile;

/** A text-protocol profile (the reference protocol, AT units…); errors name the source and each bad field. */
export function parseTextProfile(data: unknown, source = 'device profile'): TextProfile {
  return parseOrThrow(textProfileSchema, data, source, 'Fix the fields named above; profiles/README.md describes every field.');
}

export const referenceProfile: TextProfile = parseTextProfile(REFERENCE_PROFILE, 'the built-in reference profile');
export const referenceWindowProfile: TextProfile = parseTextProfile(REFERENCE_WINDOW_PROFILE, 'the built-in reference-window profile');

/** Profiles built in, by name: the reference protocol's and the ESP32 development boards'. */
export const BUILT_IN_PROFILES: Record<string, DeviceProfile> = { reference: referenceProfile, 'reference-window': referenceWindowProfile, ...ESP32_BUILT_IN_PROFILES };

/** Built-in profiles by name; anything else is a path to a JSON profile. */
export async function loadProfile(nameOrPath: string): Promise<DeviceProfile> {
  const builtIn = Object.hasOwn(BUILT_IN_PROFILES, nameOrPath) ? BUILT_IN_PROFILES[nameOrPath] : undefined;
  if (builtIn) return builtIn;
  let text: string;
  try {
    text = await readFile(nameOrPath, 'utf8');
  } catch (error) {
    throw new ConfigError(`device profile ${nameOrPath} could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: `Use a built-in profile (${Object.keys(BUILT_IN_PROFILES).join(', ')}), or the path to a profile JSON file.`,
    });
  }
  return parseProfile(parseJson(text, `device profile ${nameOrPath}`), `device profile ${nameOrPath}`);
}
