import type { z } from 'zod';
import type { CallSafety, CloudAdapter, CloudBackend, CloudStep } from './cloud-adapter.ts';
import type { FaultRule } from './emulators/http-emulator.ts';

/** What every backend's `cloud` section of a line configuration has; the rest is the backend's own. */
export interface CloudConfig {
  backend: string;
  url: string;
  allowInsecureHttp: boolean;
  [field: string]: unknown;
}

/** One field of a backend on the Settings screen, besides its address and its secret. */
export interface SettingsField {
  /** The key in the line configuration's `cloud` section. */
  name: string;
  label: string;
  kind: 'text' | 'number' | 'choice';
  choices?: readonly string[];
  required: boolean;
}

/** A running emulator of the backend: where it listens and how to stop it. */
export interface EmulatorHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * A cloud backend, whole: everything the station derives from it (the line
 * configuration's schema, the Settings screen, the pipeline's plan, `station
 * sim cloud`) comes from here. Adding a backend is one folder with one of
 * these, registered in backends.ts.
 */
export interface CloudBackendDescriptor<C extends CloudConfig = CloudConfig> extends CloudBackend {
  /** The `cloud` section of a line configuration for this backend (with `backend` as a literal). */
  configSchema: z.ZodType<C>;
  /** The pipeline steps its adapter takes and how safe each is to repeat: the pipeline plans from these. */
  steps: Readonly<Partial<Record<CloudStep, CallSafety>>>;
  /** The default address, for the Settings screen's placeholder. */
  defaultUrl?: string;
  settings: {
    fields: readonly SettingsField[];
    /** The one secret (product key, password), sealed at rest and never shown again. */
    secret?: { label: string; configKey: string };
  };
  /** The adapter for a configuration this backend's schema accepted (secrets are resolved here). */
  createAdapter(config: C): Promise<CloudAdapter>;
  /** A local emulator with a demo account, for `station sim cloud` and tests. */
  startEmulator(options: { seed?: unknown; port?: number; faults?: FaultRule[] }): Promise<EmulatorHandle>;
}
