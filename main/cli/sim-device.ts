import { z } from 'zod';
import type { SimulatorOptions } from '../core/simulator/device-simulator.ts';
import { startSimulatorOnPty, startSimulatorOnTcp } from '../core/simulator/simulator-hosts.ts';
import { describeIssues } from '../core/validation.ts';
import { parseCommand } from './args.ts';
import { ESP32_HELP, simEsp32Command } from './sim-esp32.ts';

const HELP = `Usage: station sim device [options]

Runs a simulated device until Ctrl-C, and prints where to connect.

  --kind NAME            reference | esp32 (default reference)

A reference (or AT) unit:
  --serial SN            serial number (default THERM00000000000001)
  --version ID           installed firmware version id (default: none)
  --tcp PORT             listen on TCP (0 picks a free port) instead of a pty
  --dialect NAME         reference | at (default reference)
  --transfer NAME        ymodem | xmodem1k | ymodem-window (default ymodem)
  --flash-size BYTES     largest image accepted (default 8388608)
  --noise MS             print an unsolicited log line every MS milliseconds
  --slow MS              delay every answer by MS milliseconds
  --fault NAME           refuse-credentials | corrupt-image | garbage | long-line (repeatable)
  --hang-up-after BYTES  unplug after receiving this many image bytes

An ESP32 on its ROM bootloader (pty only):
${ESP32_HELP}`;

const ESP32_ONLY_OPTIONS = ['chip', 'mac', 'boot', 'firmware-version', 'app-line', 'flash-timing'] as const;

const optionsSchema = z.object({
  serial: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1 to 64 of A-Z a-z 0-9 . _ : -').default('THERM00000000000001'),
  version: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/).optional(),
  tcp: z.coerce.number().int().min(0).max(65535).optional(),
  dialect: z.enum(['reference', 'at']).default('reference'),
  transfer: z.enum(['ymodem', 'xmodem1k', 'ymodem-window']).default('ymodem'),
  'flash-size': z.coerce.number().int().positive().optional(),
  noise: z.coerce.number().int().positive().optional(),
  slow: z.coerce.number().int().min(0).optional(),
  fault: z.array(z.enum(['refuse-credentials', 'corrupt-image', 'garbage', 'long-line'])).default([]),
  'hang-up-after': z.coerce.number().int().min(0).optional(),
});

export async function simDeviceCommand(argv: string[]): Promise<number> {
  const args = parseCommand(
    'sim device',
    argv,
    {
      kind: { type: 'string' },
      chip: { type: 'string' },
      mac: { type: 'string' },
      boot: { type: 'string' },
      'firmware-version': { type: 'string' },
      'app-line': { type: 'string', multiple: true },
      'flash-timing': { type: 'string' },
      serial: { type: 'string' },
      version: { type: 'string' },
      tcp: { type: 'string' },
      dialect: { type: 'string' },
      transfer: { type: 'string' },
      'flash-size': { type: 'string' },
      noise: { type: 'string' },
      slow: { type: 'string' },
      fault: { type: 'string', multiple: true },
      'hang-up-after': { type: 'string' },
    },
    HELP,
  );
  if (typeof args === 'number') return args;
  const { help: _help, kind, ...values } = args.values;
  if (kind === 'esp32') return simEsp32Command({ kind, ...values });
  if (kind !== undefined && kind !== 'reference') {
    console.error(`station sim device: --kind: must be reference or esp32, not "${String(kind)}"`);
    return 2;
  }
  const esp32Only = ESP32_ONLY_OPTIONS.filter((name) => values[name] !== undefined);
  if (esp32Only.length) {
    console.error(`station sim device: ${esp32Only.map((name) => `--${name}`).join(', ')} only with --kind esp32`);
    return 2;
  }
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) {
    console.error(`station sim device: ${describeIssues(parsed.error).map((line) => `--${line}`).join('; ')}`);
    return 2;
  }
  const o = parsed.data;
  const simulator: SimulatorOptions = {
    serial: o.serial,
    version: o.version,
    dialect: o.dialect,
    transfer: o.transfer,
    flashSize: o['flash-size'],
    noiseIntervalMs: o.noise,
    answerDelayMs: o.slow,
    faults: {
      refuseCredentials: o.fault.includes('refuse-credentials'),
      corruptImage: o.fault.includes('corrupt-image'),
      garbage: o.fault.includes('garbage') ? 'binary' : o.fault.includes('long-line') ? 'long-line' : undefined,
      hangUpAfterBytes: o['hang-up-after'],
    },
  };
  const host = o.tcp === undefined ? await startSimulatorOnPty(simulator) : await startSimulatorOnTcp(simulator, o.tcp);
  const where = 'url' in host ? host.url : host.path;
  console.log(`simulated device ${o.serial} listening on ${where}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await host.stop();
  return 0;
}
