import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { PROVIDER_KINDS } from '../cloud/fleetfreedom/protocol.ts';
import { DEFAULT_MAX_FIRMWARE_BYTES } from '../cloud/limits.ts';
import { BUILT_IN_PROFILES } from '../devices/profile/load-profile.ts';
import { ConfigError } from '../errors.ts';
import { parseJson, parseOrThrow } from '../validation.ts';

/** A secret written in the file, or (better) a reference to an environment variable or a file holding it. */
const secretRef = z.union([z.string().min(1), z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }).strict(), z.object({ file: z.string().min(1) }).strict()]);
export type SecretRef = z.infer<typeof secretRef>;

const hexId = z.string().regex(/^[0-9a-fA-F]{4}$/, 'must be 4 hex digits, e.g. "303a"');

const cloudSchema = z.discriminatedUnion('backend', [
  z
    .object({
      backend: z.literal('gadgetkeeper'),
      url: z.string().url(),
      productKey: secretRef.optional(),
      allowInsecureHttp: z.boolean().default(false),
      paths: z
        .object({
          activate: z.string(),
          rename: z.string(),
          targetVersion: z.string(),
          firmware: z.string(),
          switchVersion: z.string(),
        })
        .partial()
        .strict()
        .optional(),
      timeoutMs: z.number().int().min(100).max(600_000).optional(),
    })
    .strict(),
  z
    .object({
      backend: z.literal('exosite'),
      url: z.string().url().default('https://m2.exosite.com'),
      vendor: z.string().min(1),
      model: z.string().min(1),
      versionAlias: z.string().min(1).default('fw_version'),
      firmwareContentId: z.string().min(1).optional(),
      allowInsecureHttp: z.boolean().default(false),
      timeoutMs: z.number().int().min(100).max(600_000).optional(),
    })
    .strict(),
  z
    .object({
      backend: z.literal('fleetfreedom'),
      url: z.string().url().default('wss://socket.fleetfreedom.com'),
      username: z.string().min(1),
      password: secretRef,
      company: z.number().int().positive(),
      providerKind: z.enum(PROVIDER_KINDS),
      allowInsecureHttp: z.boolean().default(false),
    })
    .strict(),
]);

const portSchema = z.union([
  z.string().min(1).max(512),
  /** Auto-detect: every port whose USB ids match. */
  z.object({ vendorId: hexId, productId: hexId.optional() }).strict(),
]);

export const lineConfigSchema = z
  .object({
    cloud: cloudSchema,
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
     * held in memory while ports flash it.
     */
    maxFirmwareBytes: z
      .number()
      .int()
      .min(1024, 'must be at least 1024 bytes')
      .max(512 * 1024 * 1024, 'must be at most 536870912 bytes (512 MiB)')
      .default(DEFAULT_MAX_FIRMWARE_BYTES),
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
    if (config.cloud.backend === 'fleetfreedom' && config.firmware.source === 'cloud') {
      context.addIssue({ code: 'custom', path: ['firmware', 'source'], message: 'Fleet Freedom serves no firmware: pin a file with {"source":"file","path":…,"versionId":…}' });
    }
  });

export type LineConfig = z.output<typeof lineConfigSchema>;
export type LineConfigInput = z.input<typeof lineConfigSchema>;

/** Reads and validates a line configuration; relative paths in it are relative to the file. */
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
  return config;
}

/** The value of a secret reference; errors say which field and never the value. */
export async function resolveSecret(ref: SecretRef, field: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value) throw new ConfigError(`${field}: the environment variable ${ref.env} is not set`);
    return value;
  }
  try {
    const value = (await readFile(ref.file, 'utf8')).trim();
    if (!value) throw new Error('empty');
    return value;
  } catch (error) {
    throw new ConfigError(`${field}: the secret file ${ref.file} could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
