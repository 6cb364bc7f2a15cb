import { z } from 'zod';
import { ConfigError } from '../../errors.ts';
import { resolveSecret, secretRefSchema } from '../../secret-ref.ts';
import type { CloudBackendDescriptor } from '../cloud-backend.ts';
import type { FaultRule } from '../emulators/http-emulator.ts';
import { FLEET_FREEDOM_STEPS, FleetFreedomAdapter } from './adapter.ts';
import { DEMO_FLEETFREEDOM_SEED, startFleetFreedomEmulator, type FleetFreedomSeed, type SocketFault } from './emulator.ts';
import { FLEET_FREEDOM, PROVIDER_KINDS } from './protocol.ts';

const configSchema = z
  .object({
    backend: z.literal(FLEET_FREEDOM.id),
    url: z.string().url().default('wss://socket.fleetfreedom.com'),
    username: z.string().min(1),
    password: secretRefSchema,
    company: z.number().int().positive(),
    providerKind: z.enum(PROVIDER_KINDS),
    allowInsecureHttp: z.boolean().default(false),
  })
  .strict();
export type FleetFreedomConfig = z.output<typeof configSchema>;

/** Fleet Freedom (Trak iT) over one WebSocket (shared/specs/cloud-backends.md §3): registers units, serves no firmware. */
export const fleetFreedomBackend: CloudBackendDescriptor<FleetFreedomConfig> = {
  ...FLEET_FREEDOM,
  configSchema,
  steps: FLEET_FREEDOM_STEPS,
  defaultUrl: 'wss://socket.fleetfreedom.com',
  settings: {
    fields: [
      { name: 'username', label: 'User name', kind: 'text', required: true },
      { name: 'company', label: 'Company id', kind: 'number', required: true },
      { name: 'providerKind', label: 'Provider kind', kind: 'choice', choices: PROVIDER_KINDS, required: true },
    ],
    secret: { label: 'Password', configKey: 'password' },
  },
  async createAdapter(config) {
    return new FleetFreedomAdapter({
      url: config.url,
      allowInsecure: config.allowInsecureHttp,
      username: config.username,
      password: await resolveSecret(config.password, 'cloud.password'),
      company: config.company,
      providerKind: config.providerKind,
    });
  },
  async startEmulator({ seed, port, faults = [] }) {
    const emulator = await startFleetFreedomEmulator((seed ?? DEMO_FLEETFREEDOM_SEED) as FleetFreedomSeed, { port });
    for (const fault of faults) emulator.addFault(toSocketFault(fault));
    return emulator;
  },
};

/** Fleet Freedom faults name a message instead of a route, and have no HTTP statuses. */
function toSocketFault(fault: FaultRule): SocketFault {
  const command = fault.step;
  if (fault.kind === 'latency') return { command, kind: 'latency', ms: fault.ms, times: fault.times };
  if (fault.kind === 'no-answer' || fault.kind === 'drop-after-effect') return { command, kind: fault.kind, times: fault.times };
  throw new ConfigError(`--fault ${fault.step}:${fault.kind}: Fleet Freedom supports latency, no-answer and drop-after-effect`);
}
