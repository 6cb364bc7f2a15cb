import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { SettingsInput, SettingsView } from '../../../preload/contract.ts';
import { lineConfigSchema, type LineConfig } from '../config/line-config.ts';
import type { DeviceProfile } from '../devices/profile/schema.ts';
import { parseProfile, referenceProfile } from '../devices/profile/load-profile.ts';
import { ConfigError } from '../errors.ts';
import type { SecretBox } from '../storage/secret-box.ts';
import { parseJson, parseOrThrow } from '../validation.ts';
import { checkScreenPort, resolveFirmwareFile, type StationPolicy } from './station-policy.ts';

/** Where the desk keeps its settings: electron-store in the app, a JSON file for `station serve`. */
export interface SettingsStore {
  read(): unknown;
  write(settings: StoredSettings): void;
}

/** The line as stored: the one secret only sealed. */
const lineSettingsSchema = z
  .object({
    backend: z.enum(['gadgetkeeper', 'exosite', 'fleetfreedom']),
    url: z.string().min(1),
    fields: z.record(z.string(), z.string()),
    sealedSecret: z.string().optional(),
    ports: z.array(z.string().min(1)),
    autoStart: z.boolean(),
    thingNameTemplate: z.string().optional(),
  })
  .strict();
export type LineSettings = z.infer<typeof lineSettingsSchema>;

/** Everything the desk keeps: the line (once saved) and an imported device profile as its validated JSON text. */
export const storedSettingsSchema = z.object({ line: lineSettingsSchema.optional(), profile: z.string().optional() }).strict();
export type StoredSettings = z.infer<typeof storedSettingsSchema>;

const SECRET_CONTEXT = 'settings:cloud-secret';
/** The fields each backend takes besides its url and its secret. */
const FIELDS = {
  gadgetkeeper: [],
  exosite: ['vendor', 'model'],
  fleetfreedom: ['username', 'company', 'providerKind'],
} as const;
const FIRMWARE_FIELDS = ['firmwarePath', 'firmwareVersion'] as const;

/** A settings file kept as JSON; written whole through a rename, so a crash never leaves half a file. */
export function jsonFileSettingsStore(path: string): SettingsStore {
  return {
    read: () => {
      try {
        return parseJson(readFileSync(path, 'utf8'), `settings file ${path}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    write: (settings) => {
      writeFileSync(`${path}.tmp`, JSON.stringify(settings, null, 2), { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    },
  };
}

export function readStoredSettings(store: SettingsStore): StoredSettings {
  const raw = store.read();
  return raw === undefined ? {} : parseOrThrow(storedSettingsSchema, raw, 'saved settings', 'Save the settings again from the Settings page.');
}

/**
 * Merges what a screen saved into the stored settings. An empty secret keeps
 * the one already stored, but only for the same backend at the same origin:
 * a stored secret is never sent anywhere but where it was entered for, so
 * moving the cloud address needs the secret typed again.
 */
export function storeInput(input: SettingsInput, previous: LineSettings | undefined, box: SecretBox, policy: StationPolicy): LineSettings {
  const allowed = new Set<string>([...FIELDS[input.backend], ...FIRMWARE_FIELDS]);
  const fields = Object.fromEntries(Object.entries(input.fields).map(([name, value]) => [name, value.trim()] as const).filter(([name, value]) => allowed.has(name) && value !== ''));
  const url = input.url.trim();
  const sameCloud = previous !== undefined && previous.backend === input.backend && sameOrigin(previous.url, url);
  if (!input.secret && previous?.sealedSecret && !sameCloud && input.backend !== 'exosite') {
    throw new ConfigError(`settings: the cloud moved (${describeCloud(previous.backend, previous.url)} → ${describeCloud(input.backend, url)}), so the stored ${SECRET_NAME[input.backend]} is not sent there`, {
      hint: `Type the ${SECRET_NAME[input.backend]} for the new address again, then save.`,
    });
  }
  const sealedSecret = input.secret ? box.seal(input.secret, SECRET_CONTEXT).toString('base64') : sameCloud ? previous?.sealedSecret : undefined;
  const stored: LineSettings = {
    backend: input.backend,
    url,
    fields,
    ports: input.ports.map((port) => port.trim()).filter(Boolean),
    autoStart: input.autoStart,
    ...(sealedSecret ? { sealedSecret } : {}),
    ...(input.thingNameTemplate?.trim() ? { thingNameTemplate: input.thingNameTemplate.trim() } : {}),
  };
  // Refuse what would not run, or what the station policy does not allow, before it is stored.
  toLineConfig(stored, box, policy);
  return stored;
}

const SECRET_NAME = { gadgetkeeper: 'product key', exosite: 'secret', fleetfreedom: 'password' } as const;

/** Scheme, host and port: where a secret goes. Text that is not a URL only matches itself. */
function sameOrigin(a: string, b: string): boolean {
  const origin = (url: string) => {
    try {
      const parsed = new URL(url);
      return parsed.origin === 'null' ? url : parsed.origin;
    } catch {
      return url;
    }
  };
  return origin(a) === origin(b);
}

function describeCloud(backend: string, url: string): string {
  try {
    return `${backend} at ${new URL(url).origin}`;
  } catch {
    return backend;
  }
}

/**
 * The line configuration the settings describe; a ConfigError names each
 * wrong field. Ports and the firmware file are held to the station policy,
 * here rather than only when saving, so settings stored before a policy
 * changed are checked again when the line opens.
 */
export function toLineConfig(settings: LineSettings, box: SecretBox, policy: StationPolicy): LineConfig {
  for (const port of settings.ports) checkScreenPort(port, policy);
  const secret = settings.sealedSecret ? box.open(Buffer.from(settings.sealedSecret, 'base64'), SECRET_CONTEXT) : undefined;
  const { fields } = settings;
  const cloud: Record<string, unknown> = { backend: settings.backend, url: settings.url };
  if (settings.backend === 'gadgetkeeper' && secret) cloud.productKey = secret;
  if (settings.backend === 'exosite') Object.assign(cloud, { vendor: fields.vendor, model: fields.model });
  if (settings.backend === 'fleetfreedom') {
    Object.assign(cloud, { username: fields.username, password: secret, company: fields.company ? Number(fields.company) : undefined, providerKind: fields.providerKind });
  }
  const firmware = fields.firmwarePath ? { source: 'file', path: resolveFirmwareFile(fields.firmwarePath, policy), versionId: fields.firmwareVersion } : { source: 'cloud' };
  return parseOrThrow(
    lineConfigSchema,
    { cloud, ports: settings.ports, autoStart: settings.autoStart, firmware, ...(settings.thingNameTemplate ? { thingNameTemplate: settings.thingNameTemplate } : {}) },
    'settings',
    'Correct the fields named above on the Settings page.',
  );
}

/** Validates a device profile a technician imports; the error lists every wrong field. */
export function importProfileText(text: string): { profile: DeviceProfile; text: string } {
  const profile = parseProfile(parseJson(text, 'the imported device profile'), 'the imported device profile');
  return { profile, text: JSON.stringify(profile) };
}

export function settingsProfile(settings: StoredSettings): DeviceProfile {
  return settings.profile ? parseProfile(JSON.parse(settings.profile), 'the saved device profile') : referenceProfile;
}

/** What a screen may see of the settings: never the secret, only whether one is stored. */
export function settingsView(settings: LineSettings | undefined, profile: DeviceProfile, policy: StationPolicy): SettingsView {
  return {
    ...(settings ? { backend: settings.backend, url: settings.url } : {}),
    fields: settings?.fields ?? {},
    secretStored: settings?.sealedSecret !== undefined,
    ports: settings?.ports ?? [],
    autoStart: settings?.autoStart ?? true,
    ...(settings?.thingNameTemplate ? { thingNameTemplate: settings.thingNameTemplate } : {}),
    profileName: profile.name,
    firmwareFolder: policy.firmwareFolder,
    tcpPortsAllowed: policy.tcpPorts,
  };
}
