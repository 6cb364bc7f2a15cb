import { z } from 'zod';
import type { CloudBackendDescriptor } from '../cloud-backend.ts';
import { EXOSITE, EXOSITE_STEPS, ExositeAdapter } from './adapter.ts';
import { DEMO_EXOSITE_SEED, startExositeEmulator, type ExositeSeed } from './emulator.ts';

const configSchema = z
  .object({
    backend: z.literal(EXOSITE.id),
    url: z.string().url().default('https://m2.exosite.com'),
    vendor: z.string().min(1),
    model: z.string().min(1),
    versionAlias: z.string().min(1).default('fw_version'),
    firmwareContentId: z.string().min(1).optional(),
    allowInsecureHttp: z.boolean().default(false),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
  })
  .strict();
export type ExositeConfig = z.output<typeof configSchema>;

/** Exosite provisioning, m2.exosite.com API v1.1 (shared/specs/cloud-backends.md §2). The CIK comes from activation: no secret to enter. */
export const exositeBackend: CloudBackendDescriptor<ExositeConfig> = {
  ...EXOSITE,
  configSchema,
  steps: EXOSITE_STEPS,
  defaultUrl: 'https://m2.exosite.com',
  settings: {
    fields: [
      { name: 'vendor', label: 'Vendor', kind: 'text', required: true },
      { name: 'model', label: 'Model', kind: 'text', required: true },
    ],
  },
  async createAdapter(config) {
    return new ExositeAdapter({
      baseUrl: config.url,
      allowInsecureHttp: config.allowInsecureHttp,
      timeoutMs: config.timeoutMs,
      vendor: config.vendor,
      model: config.model,
      versionAlias: config.versionAlias,
      firmwareContentId: config.firmwareContentId,
    });
  },
  async startEmulator({ seed, port, faults = [] }) {
    const emulator = await startExositeEmulator((seed ?? DEMO_EXOSITE_SEED) as ExositeSeed, { port });
    for (const fault of faults) emulator.addFault(fault);
    return emulator;
  },
};
