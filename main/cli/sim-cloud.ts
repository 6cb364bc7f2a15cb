import { readFile } from 'node:fs/promises';
import { DEMO_EXOSITE_SEED, DEMO_FLEETFREEDOM_SEED, DEMO_GADGETKEEPER_SEED } from '../core/cloud/emulators/demo-seeds.ts';
import { startExositeEmulator, type ExositeSeed } from '../core/cloud/exosite/emulator.ts';
import { startFleetFreedomEmulator, type FleetFreedomSeed, type SocketFault } from '../core/cloud/fleetfreedom/emulator.ts';
import { startGadgetKeeperEmulator, type GadgetKeeperSeed } from '../core/cloud/gadgetkeeper/emulator.ts';
import type { FaultRule } from '../core/cloud/emulators/http-emulator.ts';
import { ConfigError } from '../core/errors.ts';
import { parseJson } from '../core/validation.ts';
import { parseCommand } from './args.ts';

const HELP = `Usage: station sim cloud <gadgetkeeper|exosite|fleetfreedom> [options]

Runs a local emulator of a provisioning cloud until Ctrl-C, and prints its URL.

  --port N          port to listen on (default 0: any free port)
  --seed FILE       JSON seed (products and serial numbers, models and content,
                    or companies and users); a demo seed by default
  --fault SPEC      inject a fault (repeatable), as STEP:KIND[:ARG[:RETRY_AFTER]]:
                      download:reset-mid-body    activate:drop-after-effect
                      rename:status:503          rename:status:429:5
                      target-version:latency:800 current-version:no-answer
                    (Fleet Freedom steps are message names, e.g. mergeProvider:no-answer)`;

/** Parses STEP:KIND[:ARG[:RETRY_AFTER]]; `times` is large so the fault lasts while the emulator runs. */
export function parseFault(spec: string): FaultRule {
  const [step, kind, arg, retryAfter] = spec.split(':');
  const times = Number.MAX_SAFE_INTEGER;
  if (!step || !kind) throw new ConfigError(`--fault ${spec}: write it as STEP:KIND[:ARG]`);
  switch (kind) {
    case 'status':
      if (!/^[1-5]\d\d$/.test(arg ?? '')) throw new ConfigError(`--fault ${spec}: status needs an HTTP status, e.g. ${step}:status:503`);
      return { step, kind, status: Number(arg), retryAfterSeconds: retryAfter === undefined ? undefined : Number(retryAfter), times };
    case 'latency':
      if (!/^\d+$/.test(arg ?? '')) throw new ConfigError(`--fault ${spec}: latency needs milliseconds, e.g. ${step}:latency:500`);
      return { step, kind, ms: Number(arg), times };
    case 'reset-mid-body':
    case 'no-answer':
    case 'drop-after-effect':
    case 'garbage-body':
      return { step, kind, times };
    default:
      throw new ConfigError(`--fault ${spec}: unknown kind "${kind}" (status, latency, reset-mid-body, no-answer, drop-after-effect, garbage-body)`);
  }
}

export async function simCloudCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand('sim cloud', argv, { port: { type: 'string' }, seed: { type: 'string' }, fault: { type: 'string', multiple: true } }, HELP, true);
  if (typeof parsed === 'number') return parsed;
  const { positionals } = parsed;
  const values = parsed.values as { port?: string; seed?: string; fault?: string[] };
  const backend = positionals[0];
  if (backend !== 'gadgetkeeper' && backend !== 'exosite' && backend !== 'fleetfreedom') {
    console.error(`station sim cloud: name the cloud: gadgetkeeper, exosite or fleetfreedom\n\n${HELP}`);
    return 2;
  }
  const port = Number(values.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('station sim cloud: --port must be 0 to 65535');
    return 2;
  }
  const seed = values.seed === undefined ? undefined : parseJson(await readFile(values.seed, 'utf8'), `seed ${values.seed}`);
  const faults = (values.fault ?? []).map(parseFault);

  let url: string;
  let stop: () => Promise<void>;
  if (backend === 'fleetfreedom') {
    // Seeds are validated by the emulators themselves.
    const emulator = await startFleetFreedomEmulator((seed ?? DEMO_FLEETFREEDOM_SEED) as FleetFreedomSeed, { port });
    for (const fault of faults) emulator.addFault(toSocketFault(fault));
    ({ url, stop } = emulator);
  } else {
    const emulator =
      backend === 'gadgetkeeper'
        ? await startGadgetKeeperEmulator((seed ?? DEMO_GADGETKEEPER_SEED) as GadgetKeeperSeed, { port })
        : await startExositeEmulator((seed ?? DEMO_EXOSITE_SEED) as ExositeSeed, { port });
    for (const fault of faults) emulator.addFault(fault);
    ({ url, stop } = emulator);
  }
  console.log(`${backend} emulator listening on ${url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  return 0;
}

/** Fleet Freedom faults name a message instead of a route, and have no HTTP statuses. */
function toSocketFault(fault: FaultRule): SocketFault {
  const command = fault.step;
  if (fault.kind === 'latency') return { command, kind: 'latency', ms: fault.ms, times: fault.times };
  if (fault.kind === 'no-answer' || fault.kind === 'drop-after-effect') return { command, kind: fault.kind, times: fault.times };
  throw new ConfigError(`--fault ${fault.step}:${fault.kind}: Fleet Freedom supports latency, no-answer and drop-after-effect`);
}
