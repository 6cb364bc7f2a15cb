import { z } from 'zod';
import { ESP32_CHIPS } from '../core/devices/esp32/chips.ts';
import { buildDemoFirmware } from '../core/simulator/esp32/demo-firmware.ts';
import { startEsp32OnPty } from '../core/simulator/esp32/esp32-hosts.ts';
import type { Esp32SimulatorOptions } from '../core/simulator/esp32/esp32-simulator.ts';
import { INSTANT_FLASH, REALISTIC_FLASH } from '../core/simulator/esp32/rom-loader.ts';
import { describeIssues } from '../core/validation.ts';

export const ESP32_HELP = `  --kind esp32           a simulated ESP32 ROM bootloader (esptool --no-stub speaks to it), with:
  --chip NAME            esp32 | esp32s3 | esp32c3 (default esp32)
  --mac MAC              factory MAC in eFuse (default 24:0a:c4:00:00:01)
  --boot MODE            download | application: how it powers up; a pty has no
                         DTR/RTS, so "download" is BOOT held (default download)
  --firmware-version V   start with demo firmware of version V in flash
  --app-line TEXT        a line the application prints after it starts (repeatable)
  --flash-size BYTES     flash chip size (default 4194304)
  --flash-timing NAME    instant | realistic: datasheet erase/program times (default instant)
  --fault NAME           never-syncs | flash-write-error (bad sector at 0x10000) |
                         md5-mismatch (a weak bit at 0x11000) (repeatable)
  --hang-up-after BYTES  unplug after programming this many bytes`;

/** Where the CLI's flash faults sit: in the application partition of ESP-IDF's default layout. */
const BAD_SECTOR_AT = 0x10000;
const WEAK_BIT_AT = 0x11000;

const esp32OptionsSchema = z
  .object({
    kind: z.literal('esp32'),
    chip: z.enum(ESP32_CHIPS).default('esp32'),
    mac: z.string().regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'must look like 24:0a:c4:00:00:01').default('24:0a:c4:00:00:01'),
    boot: z.enum(['download', 'application']).default('download'),
    'firmware-version': z.string().regex(/^[A-Za-z0-9._+-]{1,31}$/, 'must be 1 to 31 of A-Z a-z 0-9 . _ + -').optional(),
    'app-line': z.array(z.string().max(200)).default([]),
    'flash-size': z.coerce
      .number()
      .int()
      .refine((size) => size >= 1 << 20 && size <= 1 << 24 && (size & (size - 1)) === 0, 'must be a power of two from 1048576 to 16777216')
      .default(4 << 20),
    'flash-timing': z.enum(['instant', 'realistic']).default('instant'),
    fault: z.array(z.enum(['never-syncs', 'flash-write-error', 'md5-mismatch'])).default([]),
    'hang-up-after': z.coerce.number().int().min(0).optional(),
  })
  .strict();

/** Runs `station sim device --kind esp32` until Ctrl-C; 2 for bad options. */
export async function simEsp32Command(values: Record<string, unknown>): Promise<number> {
  const foreign = Object.keys(values).filter((name) => values[name] !== undefined && !(name in esp32OptionsSchema.shape));
  if (foreign.length) {
    console.error(`station sim device --kind esp32: ${foreign.map((name) => `--${name}`).join(', ')} ${foreign.length > 1 ? 'are not options' : 'is not an option'} of a simulated ESP32`);
    return 2;
  }
  const parsed = esp32OptionsSchema.safeParse(values);
  if (!parsed.success) {
    console.error(`station sim device --kind esp32: ${describeIssues(parsed.error).map((line) => `--${line}`).join('; ')}`);
    return 2;
  }
  const o = parsed.data;
  const firmware = o['firmware-version'] === undefined ? undefined : buildDemoFirmware({ chip: o.chip, version: o['firmware-version'] });
  const options: Esp32SimulatorOptions = {
    chip: o.chip,
    mac: o.mac,
    powerOn: o.boot,
    flashSize: o['flash-size'],
    flashContents: firmware?.parts.map((part) => ({ offset: part.offset, data: part.data })),
    appLines: o['app-line'],
    flashTiming: o['flash-timing'] === 'realistic' ? REALISTIC_FLASH : INSTANT_FLASH,
    faults: {
      neverSyncs: o.fault.includes('never-syncs'),
      badSectorAt: o.fault.includes('flash-write-error') ? BAD_SECTOR_AT : undefined,
      weakBitAt: o.fault.includes('md5-mismatch') ? WEAK_BIT_AT : undefined,
      unplugAfterBytes: o['hang-up-after'],
    },
  };
  const host = await startEsp32OnPty(options);
  console.log(`simulated ${o.chip} ${o.mac} (${host.simulator.mode === 'download' ? 'in its ROM bootloader' : 'running its application'}) listening on ${host.path}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await host.stop();
  return 0;
}
