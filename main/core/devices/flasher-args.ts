import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, isStationError } from '../errors.ts';
import { formatBytes } from '../format.ts';
import { parseJson, parseOrThrow } from '../validation.ts';
import { checkFlashParts, type FlashPart } from './firmware-image.ts';

/**
 * ESP-IDF's build/flasher_args.json: which file goes at which flash address
 * (flash_files), the named parts (bootloader, app, partition-table, …), the
 * flash settings and the chip. Read here into flash parts.
 */
const address = z.string().regex(/^0x[0-9a-fA-F]{1,8}$/, 'must be a hex address like 0x10000');
const namedPart = z.object({ offset: address, file: z.string().min(1), encrypted: z.enum(['true', 'false']).optional() }).loose();

export const flasherArgsSchema = z
  .object({
    flash_files: z
      .record(z.string(), z.string().min(1).max(1024))
      .superRefine((files, context) => {
        if (Object.keys(files).length === 0) context.addIssue({ code: 'custom', message: 'lists no files' });
        for (const key of Object.keys(files)) {
          if (!address.safeParse(key).success) context.addIssue({ code: 'custom', path: [key], message: 'must be a hex address like 0x10000' });
        }
      }),
    flash_settings: z.object({ flash_mode: z.string(), flash_size: z.string(), flash_freq: z.string() }).partial().optional(),
    extra_esptool_args: z.object({ chip: z.string().optional() }).loose().optional(),
  })
  .catchall(z.unknown());

export interface FlasherArgsImage {
  parts: FlashPart[];
  /** The chip the build is for, as ESP-IDF names it ("esp32s3"). */
  chip: string | undefined;
  flashSettings: { flashMode?: string; flashSize?: string; flashFreq?: string };
}

/** How a part's file is read: at once by default; the firmware cache waits for a file being written to stand still. */
export type PartReader = (path: string) => Promise<Buffer>;

/** Reads flasher_args.json and the files it names (relative to its folder, and never outside it). */
export async function readFlasherArgs(path: string, readPart: PartReader = readFile): Promise<FlasherArgsImage> {
  const source = `flasher_args.json ${path}`;
  const text = await readText(path, source);
  const args = parseOrThrow(flasherArgsSchema, parseJson(text, source), source, 'Point the line at the flasher_args.json in an ESP-IDF build folder.');
  const folder = dirname(resolve(path));
  // The named sections (bootloader, app, partition-table…) name the files; others keep their file name.
  const names = new Map<string, string>();
  for (const [name, value] of Object.entries(args)) {
    const parsed = namedPart.safeParse(value);
    if (!parsed.success) continue;
    if (parsed.data.encrypted === 'true') {
      throw new ConfigError(`${source}: ${name} is to be flashed encrypted, which the station does not do`, { hint: 'Build without flash encryption for the line, or flash this unit with esptool.' });
    }
    names.set(parsed.data.file, name);
  }
  const parts: FlashPart[] = [];
  for (const [offset, file] of Object.entries(args.flash_files)) {
    const full = resolve(folder, file);
    const inside = relative(folder, full);
    if (isAbsolute(file) || inside.startsWith('..') || isAbsolute(inside)) {
      throw new ConfigError(`${source}: ${file} is outside the build folder`, { hint: 'flasher_args.json names files relative to its own folder.' });
    }
    const data = await readBytes(full, `${source}: ${file}`, readPart);
    parts.push({ name: names.get(file) ?? file, offset: Number.parseInt(offset, 16), data });
  }
  const settings = args.flash_settings ?? {};
  return {
    parts: checkFlashParts(parts, source),
    chip: args.extra_esptool_args?.chip,
    flashSettings: { flashMode: settings.flash_mode, flashSize: settings.flash_size, flashFreq: settings.flash_freq },
  };
}

/** An ESP-IDF build's flasher_args.json is a few KiB; anything far larger is not one, and is not read into memory. */
export const FLASHER_ARGS_MAX_BYTES = 1024 * 1024;

async function readText(path: string, source: string): Promise<string> {
  const file = await stat(path).catch(() => undefined);
  if (file && file.size > FLASHER_ARGS_MAX_BYTES) {
    throw new ConfigError(`${source} is ${formatBytes(file.size)}, not a flasher_args.json (those are a few KiB; at most ${formatBytes(FLASHER_ARGS_MAX_BYTES)} is read)`, {
      hint: 'Point the line at the flasher_args.json in an ESP-IDF build folder.',
    });
  }
  return (await readBytes(path, source)).toString('utf8');
}

async function readBytes(path: string, what: string, read: PartReader = readFile): Promise<Buffer> {
  try {
    return await read(path);
  } catch (error) {
    // The reader's own verdict (a part too large, or still being written) is already clear.
    if (isStationError(error)) throw error;
    throw new ConfigError(`${what} could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'Check the path; the build folder must hold every file flasher_args.json names.',
    });
  }
}
