import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { cloudConfigSchema, findCloudBackend } from '../cloud/backends.ts';
import { labelsConfigSchema } from './labels-config.ts';
import { DEFAULT_MAX_FIRMWARE_BYTES } from '../cloud/limits.ts';
import { BUILT_IN_PROFILES } from '../devices/profile/load-profile.ts';
import { ConfigError } from '../errors.ts';
import { parseJson, parseOrThrow } from '../validation.ts';

const hexId = z.string().regex(/^[0-9a-fA-F]{4}$/, 'must be 4 hex digits, e.g. "303a"');

/** A slot's name on the line, as written on the fixture: "A3", "12", "left-2". */
export const slotNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/, 'a slot is 1 to 16 letters, digits, ".", "_" or "-", e.g. "A3"');

const usbIdsSchema = z.object({ vendorId: hexId, productId: hexId.optional() }).strict();

/**
 * A serial barcode scanner on the line (not a unit's port): each line it
 * sends is a scanned label. `for` binds it to one slot (or port); without
 * it, a scan goes to the one unit waiting for a scan.
 */
const scannerPortSchema = z
  .object({
    path: z.string().min(1).max(512),
    role: z.literal('scanner'),
    for: z.string().min(1).max(512).optional(),
    /** RS-232 scanners; USB ones ignore it. */
    baudRate: z.number().int().min(300).max(4_000_000).default(9600),
  })
  .strict();

const portSchema = z.union([
  z.string().min(1).max(512),
  /** A port with the slot name the fixture gives it. */
  z.object({ path: z.string().min(1).max(512), slot: slotNameSchema.optional(), role: z.literal('unit').optional() }).strict(),
  scannerPortSchema,
  /** Auto-detect: every port whose USB ids match. */
  usbIdsSchema,
]);
export type PortEntry = z.infer<typeof portSchema>;
export type UsbIds = z.infer<typeof usbIdsSchema>;
export type ScannerPort = z.output<typeof scannerPortSchema>;

function isScanner(port: PortEntry): port is ScannerPort {
  return typeof port !== 'string' && 'role' in port && port.role === 'scanner';
}

/** The line's unit ports named by path, each with its slot: the one given, else its place among them (1…N). Scanners are not among them. */
export function lineSlots(ports: readonly PortEntry[]): Array<{ path: string; slot: string }> {
  const named = ports.filter((port): port is Exclude<PortEntry, UsbIds | ScannerPort> => typeof port === 'string' || ('path' in port && !isScanner(port)));
  return named.map((port, index) => (typeof port === 'string' ? { path: port, slot: String(index + 1) } : { path: port.path, slot: port.slot ?? String(index + 1) }));
}

/** The line's serial barcode scanners. */
export function scannerPorts(ports: readonly PortEntry[]): ScannerPort[] {
  return ports.filter(isScanner);
}

/** The unit port a scanner's `for` names, by slot or by path; undefined when it names none of the line's. */
export function portFor(ports: readonly PortEntry[], name: string): string | undefined {
  return lineSlots(ports).find((entry) => entry.slot === name || entry.path === name)?.path;
}

/** The ports named by path, in configured order. */
export function portPaths(ports: readonly PortEntry[]): string[] {
  return lineSlots(ports).map((entry) => entry.path);
}

/** The ports given by USB ids (joined when a matching device appears). */
export function usbPorts(ports: readonly PortEntry[]): UsbIds[] {
  return ports.filter((port): port is UsbIds => typeof port !== 'string' && 'vendorId' in port);
}

/** A port's slot on the line; a port found by its USB ids is named by its device file. */
export function slotOf(ports: readonly PortEntry[], path: string): string {
  return lineSlots(ports).find((entry) => entry.path === path)?.slot ?? path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

export const lineConfigSchema = z
  .object({
    cloud: cloudConfigSchema,
    device: z.object({ profile: z.string().min(1).default('reference') }).strict().default({ profile: 'reference' }),
    ports: z.array(portSchema).max(256).default([]),
    /** Start a unit as soon as it is plugged in. */
    autoStart: z.boolean().default(true),
    /** GadgetKeeper rename, e.g. "ThermometerDevice-{serial}"; no rename when absent. */
    thingNameTemplate: z
      .string()
      .min(1)
      .max(200)
      .refine((template) => [...template.matchAll(/\{(\w+)\}/g)].every(([, name]) => name === 'serial'), 'the only placeholder is {serial}')
      .optional(),
    firmware: z
      .discriminatedUnion('source', [
        z.object({ source: z.literal('cloud') }).strict(),
        z.object({ source: z.literal('file'), path: z.string().min(1), versionId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/) }).strict(),
      ])
      .default({ source: 'cloud' }),
    offline: z
      .object({
        /** A unit that needs the cloud (its first target version, firmware not cached) waits this long for it, then fails. 0: fail at once. */
        waitForCloudSeconds: z.number().int().min(0).max(3600).default(120),
      })
      .strict()
      .default({ waitForCloudSeconds: 120 }),
    /**
     * The largest firmware image accepted, from any cloud or a pinned file:
     * larger ones are refused before they are read. One copy per version is
     * held in memory while ports flash it, and for XMODEM/YMODEM one copy of
     * its framed blocks (about as large again).
     */
    maxFirmwareBytes: z
      .number()
      .int()
      .min(1024, 'must be at least 1024 bytes')
      .max(512 * 1024 * 1024, 'must be at most 536870912 bytes (512 MiB)')
      .default(DEFAULT_MAX_FIRMWARE_BYTES),
    /** Label check (scan) and label printing; neither by default. */
    labels: labelsConfigSchema.default({}),
    /** This station's name in every unit record (traceability); the machine's host name by default. */
    stationId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1 to 64 of A-Z a-z 0-9 . _ : -').optional(),
    concurrency: z
      .object({
        ports: z.number().int().min(1).max(256).default(32),
        downloads: z.number().int().min(1).max(16).default(2),
        cloudCalls: z.number().int().min(1).max(64).default(8),
      })
      .strict()
      .default({ ports: 32, downloads: 2, cloudCalls: 8 }),
  })
  .strict()
  .superRefine((config, context) => {
    const seen = { path: new Map<string, number>(), slot: new Map<string, number>() };
    // Entries by their place in "ports", so an issue names the entry as written.
    const entries = config.ports.map((port, index) => ({ port, index }));
    const units = entries.filter(({ port }) => typeof port === 'string' || ('path' in port && !isScanner(port)));
    const slots = lineSlots(config.ports);
    units.forEach(({ index }, position) => {
      const { path, slot } = slots[position]!;
      for (const [kind, value] of [['path', path], ['slot', slot]] as const) {
        const first = seen[kind].get(value);
        if (first !== undefined) context.addIssue({ code: 'custom', path: ['ports', index], message: `${kind === 'path' ? 'port' : 'slot'} ${value} is listed twice (also entry ${first + 1})` });
        else seen[kind].set(value, index);
      }
    });
    for (const { port, index } of entries) {
      if (!isScanner(port)) continue;
      const first = seen.path.get(port.path);
      if (first !== undefined) context.addIssue({ code: 'custom', path: ['ports', index, 'path'], message: `port ${port.path} is listed twice (also entry ${first + 1})` });
      else seen.path.set(port.path, index);
      if (port.for !== undefined && portFor(config.ports, port.for) === undefined) {
        context.addIssue({ code: 'custom', path: ['ports', index, 'for'], message: `the scanner serves "${port.for}", which is no slot or port of this line` });
      }
    }
    const backend = findCloudBackend(config.cloud.backend);
    if (backend && !backend.steps.download && config.firmware.source === 'cloud') {
      context.addIssue({ code: 'custom', path: ['firmware', 'source'], message: `${backend.label} serves no firmware: pin a file with {"source":"file","path":…,"versionId":…}` });
    }
  });

export type LineConfig = z.output<typeof lineConfigSchema>;

/** Reads and validates a line configuration; relative paths in it (firmware, profile, a secret's file) are relative to the file. */
export async function loadLineConfig(path: string): Promise<LineConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`line configuration ${path} could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const config = parseOrThrow(lineConfigSchema, parseJson(text, `line configuration ${path}`), `line configuration ${path}`);
  const base = dirname(resolve(path));
  if (config.firmware.source === 'file') config.firmware.path = resolve(base, config.firmware.path);
  if (!Object.hasOwn(BUILT_IN_PROFILES, config.device.profile)) config.device.profile = resolve(base, config.device.profile);
  // The cloud's secret as {"file": path} too: beside the configuration, whatever folder the station is started from.
  const secretKey = findCloudBackend(config.cloud.backend)?.settings.secret?.configKey;
  const secret: unknown = secretKey === undefined ? undefined : config.cloud[secretKey];
  if (secretKey !== undefined && typeof secret === 'object' && secret !== null && 'file' in secret && typeof secret.file === 'string') {
    config.cloud = { ...config.cloud, [secretKey]: { file: resolve(base, secret.file) } };
  }
  return config;
}
