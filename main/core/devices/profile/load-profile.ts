import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';
import { parseJson, parseOrThrow } from '../../validation.ts';
import { REFERENCE_PROFILE, REFERENCE_WINDOW_PROFILE } from './reference-profile.ts';
import { deviceProfileSchema, type DeviceProfile } from './schema.ts';

/** Validates a profile from any source; errors name the source and each bad field. */
export function parseProfile(data: unknown, source = 'device profile'): DeviceProfile {
  return parseOrThrow(deviceProfileSchema, data, source, 'Fix the fields named above; see profiles/examples/ for a working profile.');
}

export const referenceProfile: DeviceProfile = parseProfile(REFERENCE_PROFILE, 'the built-in reference profile');
export const referenceWindowProfile: DeviceProfile = parseProfile(REFERENCE_WINDOW_PROFILE, 'the built-in reference-window profile');

/** Profiles built in, by name. */
export const BUILT_IN_PROFILES: Record<string, DeviceProfile> = { reference: referenceProfile, 'reference-window': referenceWindowProfile };

/** "reference" and "reference-window" are built in; anything else is a path to a JSON profile. */
export async function loadProfile(nameOrPath: string): Promise<DeviceProfile> {
  const builtIn = Object.hasOwn(BUILT_IN_PROFILES, nameOrPath) ? BUILT_IN_PROFILES[nameOrPath] : undefined;
  if (builtIn) return builtIn;
  let text: string;
  try {
    text = await readFile(nameOrPath, 'utf8');
  } catch (error) {
    throw new ConfigError(`device profile ${nameOrPath} could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'Use "reference" or "reference-window" for a built-in profile, or the path to a profile JSON file.',
    });
  }
  return parseProfile(parseJson(text, `device profile ${nameOrPath}`), `device profile ${nameOrPath}`);
}
