import { z } from 'zod';
import { resolveSecret, secretRefSchema } from '../../secret-ref.ts';
import type { CloudBackendDescriptor } from '../cloud-backend.ts';
import { GADGETKEEPER, GADGETKEEPER_STEPS, GadgetKeeperAdapter } from './adapter.ts';
import { DEMO_GADGETKEEPER_SEED, startGadgetKeeperEmulator, type GadgetKeeperSeed } from './emulator.ts';

/**
 * A path template is a path on the cloud's own host: no scheme, no "//host"
 * and no backslash (which URL parsers read as "/"), so no template can send
 * the api key anywhere else. A relative template ("v1/things/{thingId}.json",
 * which the HTTP client always joined to the cloud URL with a "/") is taken
 * as that path from the root, as configurations written before the check
 * have it.
 */
const PATH_ON_CLOUD_HOST = /^(?![a-z][a-z0-9+.-]*:)(?!\/\/)[^\\\s]+$/i;

const pathTemplate = z
  .string()
  .max(500)
  .regex(PATH_ON_CLOUD_HOST, 'must be a path on the cloud\'s own host (as /v1/things/{thingId}.json), with no scheme, "//" host, backslash or space')
  .transform((template) => (template.startsWith('/') ? template : `/${template}`));

const configSchema = z
  .object({
    backend: z.literal(GADGETKEEPER.id),
    url: z.string().url(),
    productKey: secretRefSchema.optional(),
    allowInsecureHttp: z.boolean().default(false),
    /** Every path template is configurable ([station default] where the public documentation is silent). */
    paths: z.object({ activate: pathTemplate, rename: pathTemplate, targetVersion: pathTemplate, firmware: pathTemplate, switchVersion: pathTemplate }).partial().strict().optional(),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
  })
  .strict();
export type GadgetKeeperConfig = z.output<typeof configSchema>;

/** The GadgetKeeper Provision API (shared/specs/cloud-backends.md §1). */
export const gadgetKeeperBackend: CloudBackendDescriptor<GadgetKeeperConfig> = {
  ...GADGETKEEPER,
  configSchema,
  steps: GADGETKEEPER_STEPS,
  defaultUrl: 'https://api.gadgetkeeper.com',
  settings: { fields: [], secret: { label: 'Product key', configKey: 'productKey' } },
  async createAdapter(config) {
    return new GadgetKeeperAdapter({
      baseUrl: config.url,
      allowInsecureHttp: config.allowInsecureHttp,
      timeoutMs: config.timeoutMs,
      paths: config.paths,
      productKey: config.productKey === undefined ? undefined : await resolveSecret(config.productKey, 'cloud.productKey'),
    });
  },
  async startEmulator({ seed, port, faults = [] }) {
    // The seed is validated by the emulator itself.
    const emulator = await startGadgetKeeperEmulator((seed ?? DEMO_GADGETKEEPER_SEED) as GadgetKeeperSeed, { port });
    for (const fault of faults) emulator.addFault(fault);
    return emulator;
  },
};
