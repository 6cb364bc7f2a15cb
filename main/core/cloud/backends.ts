import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { CloudAdapter } from './cloud-adapter.ts';
import type { CloudBackendDescriptor, CloudConfig } from './cloud-backend.ts';
import { exositeBackend } from './exosite/backend.ts';
import { fleetFreedomBackend } from './fleetfreedom/backend.ts';
import { gadgetKeeperBackend } from './gadgetkeeper/backend.ts';
import { hasUrlCredentials } from './http.ts';

/** The cloud backends this station speaks, in the order Settings offers them. */
const registry: CloudBackendDescriptor[] = [gadgetKeeperBackend, exositeBackend, fleetFreedomBackend];

export function cloudBackends(): readonly CloudBackendDescriptor[] {
  return registry;
}

export function findCloudBackend(id: string): CloudBackendDescriptor | undefined {
  return registry.find((backend) => backend.id === id);
}

/** The backend of this id, or a ConfigError that lists the ones there are. */
export function requireCloudBackend(id: string): CloudBackendDescriptor {
  const backend = findCloudBackend(id);
  if (!backend) throw new ConfigError(`there is no cloud backend "${id}"`, { hint: `Use one of ${registry.map((known) => known.id).join(', ')}.` });
  return backend;
}

/** Adds a backend (a plug-in's, or a test's); returns how to take it out again. */
export function registerCloudBackend(backend: CloudBackendDescriptor): () => void {
  if (findCloudBackend(backend.id)) throw new Error(`a cloud backend "${backend.id}" is already registered`);
  registry.push(backend);
  return () => {
    const index = registry.indexOf(backend);
    if (index >= 0) registry.splice(index, 1);
  };
}

/**
 * A line configuration's `cloud` section: `backend` picks the descriptor,
 * whose own schema then checks the rest (errors keep their field paths).
 * Looked up at parse time, so a registered backend is accepted at once.
 */
export const cloudConfigSchema = z
  .object({ backend: z.string() })
  .passthrough()
  .transform((value, context): CloudConfig => {
    const backend = findCloudBackend(value.backend);
    if (!backend) {
      context.addIssue({ code: 'custom', path: ['backend'], message: `must be one of ${registry.map((known) => known.id).join(', ')}` });
      return z.NEVER;
    }
    // Every backend's URL: screens and records show it, so it never holds a secret.
    if (typeof value.url === 'string' && hasUrlCredentials(value.url)) {
      context.addIssue({ code: 'custom', path: ['url'], message: urlCredentialsMessage(backend) });
      return z.NEVER;
    }
    const parsed = backend.configSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) context.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      return z.NEVER;
    }
    return parsed.data;
  });

/** Why a URL with credentials is refused, and where this backend's secret goes instead. */
function urlCredentialsMessage(backend: CloudBackendDescriptor): string {
  const refused = 'must not hold a user name or password (user:password@), because screens and records show the URL';
  const secret = backend.settings.secret;
  if (!secret) return `${refused}; ${backend.label} takes none there: remove them`;
  return `${refused}; put the ${secret.label.toLowerCase()} in the ${secret.label} field of Settings (cloud.${secret.configKey} in a configuration file) and remove it from the URL`;
}

/** The adapter a line configuration's `cloud` section names, with its secrets resolved. */
export function createCloudAdapter(cloud: CloudConfig): Promise<CloudAdapter> {
  const backend = requireCloudBackend(cloud.backend);
  return backend.createAdapter(backend.configSchema.parse(cloud));
}
