import { z } from 'zod';
import { parseOrThrow } from '../../validation.ts';
import { patternWithGroup } from '../profile/safe-pattern.ts';
import type { DriverCapabilities } from '../driver.ts';
import { ESP32_CHIPS } from './chips.ts';
import { RESET_SEQUENCES, resetStepSchema } from './reset-sequences.ts';

/** A regular expression that must capture the named group. */
const patternWith = patternWithGroup;

const hexAddress = z.union([z.number().int().min(0), z.string().regex(/^0x[0-9a-fA-F]{1,8}$/).transform((text) => Number.parseInt(text, 16))]);
/** The ROM writes flash from 4 KiB sector boundaries only (it erases whole sectors), as ESP-IDF lays partitions out. */
const sectorAddress = hexAddress.refine((address) => address % 0x1000 === 0, 'must be a multiple of 0x1000 (a 4 KiB flash sector)');
const nvsKey = z.string().regex(/^[\x21-\x7e]{1,15}$/, 'must be 1 to 15 printable ASCII characters');
const sequence = (name: keyof typeof RESET_SEQUENCES) => z.union([z.enum(Object.keys(RESET_SEQUENCES) as [keyof typeof RESET_SEQUENCES]), z.array(resetStepSchema).min(1).max(64)]).default(name);

/**
 * An ESP32 device profile: data only, like the text profiles. It names the
 * chip, how to reset it (esptool's sequences by name, or steps of its own),
 * where its serial number comes from, how fast to flash, where credentials go
 * in NVS, and how to read the booted version from the application's log.
 */
export const esp32ProfileSchema = z
  .object({
    driver: z.literal('esp32'),
    name: z.string().min(1).max(64),
    description: z.string().max(500).optional(),
    /** A unit whose chip is another is refused, naming both. */
    chip: z.enum(ESP32_CHIPS),
    reset: z
      .object({
        /** "none" where nothing drives EN/IO0: the operator holds BOOT while plugging the unit in. */
        enterBootloader: z.union([z.literal('none'), sequence('classic')]).default('classic'),
        hardReset: sequence('hard-reset'),
        /** Reset-and-sync rounds before the unit is declared unreachable. */
        attempts: z.number().int().min(1).max(20).default(4),
      })
      .strict()
      .default({ enterBootloader: 'classic', hardReset: 'hard-reset', attempts: 4 }),
    /** The ROM bootloader listens at this rate after reset. */
    romBaudRate: z.number().int().min(9600).max(2_000_000).default(115200),
    /** Flash at this rate when the port can change speed (the ROM is told first); the ROM rate otherwise. */
    flashBaudRate: z.number().int().min(9600).max(5_000_000).optional(),
    serialNumber: z
      .discriminatedUnion('source', [
        z
          .object({
            source: z.literal('mac'),
            /** "24:0a:c4:12:34:56" as esptool prints it, or "240AC4123456". */
            format: z.enum(['colon-lower', 'hex-upper']).default('colon-lower'),
            prefix: z.string().regex(/^[A-Za-z0-9._:-]{0,32}$/).default(''),
          })
          .strict(),
        z
          .object({
            source: z.literal('boot-output'),
            /** Matched against each line the application prints after a hard reset. */
            pattern: patternWith('serial'),
            timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
          })
          .strict(),
      ])
      .default({ source: 'mac', format: 'colon-lower', prefix: '' }),
    /** Where a firmware delivered as one file goes: 0 for a merged binary (esptool merge_bin), else e.g. the app partition. */
    singleImageOffset: sectorAddress.default(0),
    credentials: z
      .object({
        namespace: nvsKey.default('station'),
        keys: z.object({ thingId: nvsKey.default('thingId'), apiKey: nvsKey.default('apiKey') }).strict().default({ thingId: 'thingId', apiKey: 'apiKey' }),
        /** The NVS partition: by default the image's partition table says (the data/nvs entry, or the one with this label). */
        nvsLabel: z.string().min(1).max(16).optional(),
        /** Where the NVS partition is, when the image carries no partition table. */
        nvsPartition: z.object({ offset: sectorAddress, size: sectorAddress }).strict().optional(),
      })
      .strict()
      .default({ namespace: 'station', keys: { thingId: 'thingId', apiKey: 'apiKey' } }),
    boot: z
      .object({
        /** A line of the application's boot log that carries its version. */
        versionPattern: patternWith('version').default('App version:\\s+(?<version>\\S+)'),
        /** A line that carries the serial number, when the log prints one (checked against the unit's). */
        serialPattern: patternWith('serial').optional(),
        timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
        /** Boot the application before flashing to read its version (and skip flashing when it is current). */
        readVersionBeforeFlash: z.boolean().default(false),
      })
      .strict()
      .default({ versionPattern: 'App version:\\s+(?<version>\\S+)', timeoutMs: 10_000, readVersionBeforeFlash: false }),
    /** Longest line of application output kept while looking for a pattern. */
    maxLineLength: z.number().int().min(64).max(4096).default(512),
  })
  .strict();

export type Esp32Profile = z.output<typeof esp32ProfileSchema>;
export type Esp32ProfileInput = z.input<typeof esp32ProfileSchema>;

export function parseEsp32Profile(data: unknown, source = 'ESP32 device profile'): Esp32Profile {
  return parseOrThrow(esp32ProfileSchema, data, source, 'Fix the fields named above; see the ESP32 profile example.');
}

/** What a unit under this profile can do: everything but reading the version before flashing, unless asked. */
export function esp32Capabilities(profile: Esp32Profile): DriverCapabilities {
  return { readVersion: profile.boot.readVersionBeforeFlash, credentials: true, flash: true, reboot: true };
}
