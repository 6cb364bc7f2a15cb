import { readFile } from 'node:fs/promises';
import { cloudBackends, findCloudBackend } from '../core/cloud/backends.ts';
import type { FaultRule } from '../core/cloud/emulators/http-emulator.ts';
import { ConfigError } from '../core/errors.ts';
import { parseJson } from '../core/validation.ts';
import { parseCommand } from './args.ts';

/** The backends come from the registry, so a new one appears here by itself. */
const help = () => `Usage: station sim cloud <${cloudBackends().map((backend) => backend.id).join('|')}> [options]

Runs a local emulator of a provisioning cloud until Ctrl-C, and prints its URL.

  --port N          port to listen on (default 0: any free port)
  --seed FILE       JSON seed (products and serial numbers, models and content,
                    or companies and users); a demo seed by default
  --fault SPEC      inject a fault (repeatable), as STEP:KIND[:ARG[:RETRY_AFTER]]:
                      download:reset-mid-body    activate:drop-after-effect
                      rename:status:503          rename:status:429:5
                      target-version:latency:800 confirm:no-answer
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
  const parsed = parseCommand('sim cloud', argv, { port: { type: 'string' }, seed: { type: 'string' }, fault: { type: 'string', multiple: true } }, help(), true);
  if (typeof parsed === 'number') return parsed;
  const { positionals } = parsed;
  const values = parsed.values as { port?: string; seed?: string; fault?: string[] };
  const descriptor = findCloudBackend(positionals[0] ?? '');
  if (!descriptor) {
    console.error(`station sim cloud: name the cloud: ${cloudBackends().map((backend) => backend.id).join(', ')}\n\n${help()}`);
    return 2;
  }
  const port = Number(values.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('station sim cloud: --port must be 0 to 65535');
    return 2;
  }
  const seed = values.seed === undefined ? undefined : parseJson(await readFile(values.seed, 'utf8'), `seed ${values.seed}`);
  const faults = (values.fault ?? []).map(parseFault);

  const emulator = await descriptor.startEmulator({ seed, port, faults });
  console.log(`${descriptor.id} emulator listening on ${emulator.url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.stop();
  return 0;
}
