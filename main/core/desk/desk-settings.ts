import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { BackendChoice, LabelSettings, SettingsInput, SettingsView } from '../../../contract/station-contract.ts';
import { cloudBackends, requireCloudBackend } from '../cloud/backends.ts';
import type { CloudBackendDescriptor } from '../cloud/cloud-backend.ts';
import { withoutUrlCredentials } from '../cloud/http.ts';
import { lineConfigSchema, type LineConfig } from '../config/line-config.ts';
import type { DeviceProfile } from '../devices/device-profile.ts';
import { BUILT_IN_PROFILES, parseProfile, referenceProfile } from '../devices/profile/load-profile.ts';
import { ConfigError } from '../errors.ts';
import { DEFAULT_LABEL_TEMPLATE } from '../labels/label-template.ts';
import type { SecretBox } from '../storage/secret-box.ts';
import { parseJson, parseOrThrow } from '../validation.ts';
import { fieldProblem, problemsFromIssues, SettingsRefused, type FieldProblem } from './settings-problems.ts';
import { checkScreenPort, checkScreenPrinter, resolveFirmwareFile, type StationPolicy } from './station-policy.ts';

/** Where the desk keeps its settings: electron-store in the app, a JSON file for `station serve`. */
export interface SettingsStore {
  read(): unknown;
  write(settings: StoredSettings): void;
  /** Where they are kept, e.g. "settings file /path/settings.json": named when what is there cannot be used. */
  source?: string;
}

/** The line as stored: the one secret only sealed. */
const lineSettingsSchema = z
  .object({
    backend: z.string().min(1),
    url: z.string().min(1),
    fields: z.record(z.string(), z.string()),
    sealedSecret: z.string().optional(),
    /** A port's path, or its path and the slot name the fixture gives it. */
    ports: z.array(z.union([z.string().min(1), z.object({ path: z.string().min(1), slot: z.string().optional() }).strict()])),
    autoStart: z.boolean(),
    thingNameTemplate: z.string().optional(),
    /** Label check and printing as Settings edits them; none by default. */
    labels: z
      .object({ check: z.boolean(), pattern: z.string().optional(), printer: z.string().optional(), template: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict();
export type LineSettings = z.infer<typeof lineSettingsSchema>;

/** Everything the desk keeps: the line (once saved) and an imported device profile as its validated JSON text. */
export const storedSettingsSchema = z.object({ line: lineSettingsSchema.optional(), profile: z.string().optional() }).strict();
export type StoredSettings = z.infer<typeof storedSettingsSchema>;

const SECRET_CONTEXT = 'settings:cloud-secret';
/** A firmware file from the firmware folder, pinned instead of the cloud's (the only way for a backend that serves none). */
const FIRMWARE_FIELDS = ['firmwarePath', 'firmwareVersion'] as const;

/** A settings file kept as JSON; written whole through a rename, so a crash never leaves half a file. */
export function jsonFileSettingsStore(path: string): SettingsStore {
  const source = `settings file ${path}`;
  return {
    source,
    read: () => {
      try {
        return parseJson(readFileSync(path, 'utf8'), source);
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
  if (raw === undefined) return {};
  // Settings that cannot be read stop the station before any screen opens: a file to fix is named, not only the Settings page.
  if (store.source === undefined) return parseOrThrow(storedSettingsSchema, raw, 'saved settings', 'Save the settings again from the Settings page.');
  return parseOrThrow(storedSettingsSchema, raw, store.source, 'Correct the fields named above in that file, or move it aside (the station then starts without saved settings) and save the settings again from the Settings page.');
}

/**
 * Merges what a screen saved into the stored settings. An empty secret keeps
 * the one already stored, but only for the same backend at the same origin:
 * a stored secret is never sent anywhere but where it was entered for, so
 * moving the cloud address needs the secret typed again.
 */
export function storeInput(input: SettingsInput, previous: LineSettings | undefined, box: SecretBox, policy: StationPolicy): LineSettings {
  const backend = backendOrRefuse(input.backend);
  const secretName = backend.settings.secret?.label.toLowerCase();
  const allowed = new Set<string>([...backend.settings.fields.map((field) => field.name), ...FIRMWARE_FIELDS]);
  const fields = Object.fromEntries(Object.entries(input.fields).map(([name, value]) => [name, value.trim()] as const).filter(([name, value]) => allowed.has(name) && value !== ''));
  const url = input.url.trim();
  const sameCloud = previous !== undefined && previous.backend === input.backend && sameOrigin(previous.url, url);
  if (!input.secret && previous?.sealedSecret && !sameCloud && secretName) {
    const problem = fieldProblem('secret', `The cloud moved (${describeCloud(previous.backend, previous.url)} → ${describeCloud(input.backend, url)}), so the stored ${secretName} is not sent there`, backend);
    throw new SettingsRefused([problem], `Type the ${secretName} for the new address again, then save.`);
  }
  const sealedSecret = input.secret ? box.seal(input.secret, SECRET_CONTEXT).toString('base64') : sameCloud ? previous?.sealedSecret : undefined;
  const stored: LineSettings = {
    backend: input.backend,
    url,
    fields,
    ports: input.ports.map(trimPort).filter((port) => (typeof port === 'string' ? port : port.path) !== ''),
    autoStart: input.autoStart,
    ...(sealedSecret ? { sealedSecret } : {}),
    ...(input.thingNameTemplate?.trim() ? { thingNameTemplate: input.thingNameTemplate.trim() } : {}),
  };
  const labels = input.labels === undefined ? previous?.labels : trimLabels(input.labels);
  if (labels) stored.labels = labels;
  // Refuse what would not run, or what the station policy does not allow, before it is stored.
  toLineConfig(stored, box, policy);
  return stored;
}

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
  const backend = backendOrRefuse(settings.backend);
  const problems: FieldProblem[] = [];
  // The station policy's rules, each broken one on the field it concerns, with what to do: the screen shows only the field's problems.
  const policed = (field: string, check: () => void) => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(fieldProblem(field, error.hint ? `${sentence(error.message)}. ${error.hint}` : sentence(error.message), backend));
    }
  };
  for (const port of settings.ports) policed('ports', () => checkScreenPort(typeof port === 'string' ? port : port.path, policy));
  const secret = settings.sealedSecret ? box.open(Buffer.from(settings.sealedSecret, 'base64'), SECRET_CONTEXT) : undefined;
  const { fields } = settings;
  // The backend's own fields, typed as its descriptor says; its schema then checks them like a configuration file's.
  const cloud: Record<string, unknown> = { backend: backend.id, url: settings.url };
  for (const field of backend.settings.fields) {
    const value = fields[field.name];
    if (value !== undefined) cloud[field.name] = field.kind === 'number' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  if (backend.settings.secret && secret) cloud[backend.settings.secret.configKey] = secret;
  let firmwarePath = fields.firmwarePath;
  if (firmwarePath) policed('firmwarePath', () => (firmwarePath = resolveFirmwareFile(fields.firmwarePath!, policy)));
  const firmware = firmwarePath ? { source: 'file', path: firmwarePath, versionId: fields.firmwareVersion } : { source: 'cloud' };
  const labels = settings.labels ? labelsConfig(settings.labels, policy, (problem) => problems.push(problem)) : undefined;
  const data = {
    cloud,
    ports: settings.ports,
    autoStart: settings.autoStart,
    firmware,
    ...(settings.thingNameTemplate ? { thingNameTemplate: settings.thingNameTemplate } : {}),
    ...(labels ? { labels } : {}),
  };
  const parsed = lineConfigSchema.safeParse(data);
  if (!parsed.success) problems.push(...problemsFromIssues(parsed.error.issues, data, backend));
  if (problems.length > 0 || !parsed.success) throw new SettingsRefused(problems);
  return parsed.data;
}

/** Labels as Settings gave them, blanks taken out: no pattern is the whole scan, no printer is no printing, no template the default one. */
function trimLabels(labels: LabelSettings): LabelSettings {
  const pattern = labels.pattern?.trim();
  const printer = labels.printer?.trim();
  const template = labels.template?.trim();
  return { check: labels.check, ...(pattern ? { pattern } : {}), ...(printer ? { printer } : {}), ...(template && template !== DEFAULT_LABEL_TEMPLATE ? { template } : {}) };
}

/** The line configuration's `labels` from Settings; a printer the station policy does not allow is a problem on its field. */
function labelsConfig(labels: LabelSettings, policy: StationPolicy, problem: (problem: FieldProblem) => void): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (labels.check) config.check = labels.pattern ? { pattern: labels.pattern } : {};
  if (labels.printer) {
    try {
      config.print = { printer: checkScreenPrinter(labels.printer, policy), ...(labels.template ? { template: labels.template } : {}) };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problem(fieldProblem('labelPrinter', sentence(error.message)));
    }
  } else if (labels.template) {
    problem(fieldProblem('labelPrinter', 'Choose the printer the label template is for, or clear the template'));
  }
  return config;
}

function backendOrRefuse(id: string): CloudBackendDescriptor {
  try {
    return requireCloudBackend(id);
  } catch (error) {
    if (error instanceof ConfigError) throw new SettingsRefused([fieldProblem('backend', sentence(error.message))], error.hint);
    throw error;
  }
}

/** A port as a screen gave it, trimmed; a slot left empty is no slot. */
function trimPort(port: SettingsInput['ports'][number]): LineSettings['ports'][number] {
  if (typeof port === 'string') return port.trim();
  const slot = port.slot?.trim();
  return slot ? { path: port.path.trim(), slot } : port.path.trim();
}

/** An error message as a sentence on its own, next to a field. */
function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
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
    // Settings saved before URLs with credentials were refused may hold one: a screen never sees it.
    ...(settings ? { backend: settings.backend, url: withoutUrlCredentials(settings.url) } : {}),
    fields: settings?.fields ?? {},
    secretStored: settings?.sealedSecret !== undefined,
    ports: (settings?.ports ?? []).map((port) => (typeof port === 'string' ? { path: port } : port)),
    autoStart: settings?.autoStart ?? true,
    ...(settings?.thingNameTemplate ? { thingNameTemplate: settings.thingNameTemplate } : {}),
    labels: settings?.labels ?? { check: false },
    defaultLabelTemplate: DEFAULT_LABEL_TEMPLATE,
    labelPrintersAllowed: policy.labelPrinters,
    profileName: profile.name,
    firmwareFolder: policy.firmwareFolder,
    tcpPortsAllowed: policy.tcpPorts,
    backends: cloudBackends().map(backendChoice),
    builtInProfiles: Object.values(BUILT_IN_PROFILES).map((builtIn) => ({ name: builtIn.name, ...(builtIn.description ? { description: builtIn.description } : {}) })),
  };
}

/** A backend as the Settings screen offers it: its fields and its secret's name, from its descriptor. */
function backendChoice(backend: CloudBackendDescriptor): BackendChoice {
  return {
    id: backend.id,
    label: backend.label,
    ...(backend.defaultUrl ? { defaultUrl: backend.defaultUrl } : {}),
    fields: backend.settings.fields.map(({ choices, ...field }) => ({ ...field, ...(choices ? { choices: [...choices] } : {}) })),
    ...(backend.settings.secret ? { secretLabel: backend.settings.secret.label } : {}),
    servesFirmware: backend.steps.download !== undefined,
  };
}

/** A built-in profile by name, as JSON an import takes; a ConfigError names the ones there are. */
export function builtInProfileText(name: string): string {
  const profile = Object.hasOwn(BUILT_IN_PROFILES, name) ? BUILT_IN_PROFILES[name] : undefined;
  if (!profile) throw new ConfigError(`there is no built-in device profile "${name}"`, { hint: `Use one of ${Object.keys(BUILT_IN_PROFILES).join(', ')}.` });
  return JSON.stringify(profile);
}
