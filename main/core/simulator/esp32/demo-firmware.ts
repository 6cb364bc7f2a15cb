import { createHash } from 'node:crypto';
import { APP_DESC_MAGIC, APP_DESC_SIZE, IMAGE_MAGIC } from '../../devices/esp32/app-image.ts';
import { CHIP_FACTS, type Esp32Chip } from '../../devices/esp32/chips.ts';
import { DATA_SUBTYPE, PARTITION_TABLE_MAX_SIZE, PARTITION_TABLE_OFFSET, PARTITION_TYPE } from '../../devices/esp32/partition-table.ts';

/**
 * Firmware shaped like an ESP-IDF build, for the simulator, its tests and
 * demos: a second-stage bootloader, a partition table with an NVS partition,
 * and an application whose esp_app_desc_t carries its version, each a valid
 * image (segments, checksum, SHA-256) with code-like, compressible bytes, and
 * the flasher_args.json ESP-IDF writes beside them.
 */
export interface DemoPart {
  name: 'bootloader' | 'partition-table' | 'app';
  /** The file name inside the build folder, as ESP-IDF names it. */
  file: string;
  offset: number;
  data: Uint8Array;
}

export interface DemoFirmware {
  chip: Esp32Chip;
  version: string;
  parts: DemoPart[];
  /** build/flasher_args.json, as ESP-IDF writes it. */
  flasherArgs: Record<string, unknown>;
  nvs: { offset: number; size: number };
}

export interface DemoFirmwareOptions {
  chip: Esp32Chip;
  version: string;
  projectName?: string;
  /** Size of the application's code segment (default 160 KiB). */
  appCodeBytes?: number;
}

/** Partition layout of ESP-IDF's "single factory app" table. */
export const DEMO_LAYOUT = {
  nvs: { offset: 0x9000, size: 0x6000 },
  phyInit: { offset: 0xf000, size: 0x1000 },
  factory: { offset: 0x10000, size: 0x100000 },
} as const;

/** The highest chip revision ESP-IDF v5 builds accept by default, as max_chip_rev_full. */
const MAX_REV_FULL: Record<Esp32Chip, number> = { esp32: 399, esp32s3: 99, esp32c3: 199 };
const DROM: Record<Esp32Chip, number> = { esp32: 0x3f400020, esp32s3: 0x3c000020, esp32c3: 0x3c000020 };

export function buildDemoFirmware(options: DemoFirmwareOptions): DemoFirmware {
  const { chip, version } = options;
  const projectName = options.projectName ?? 'thermometer';
  const random = seededRandom(`${chip}/${projectName}/${version}`);
  const bootloader = buildImage(chip, [
    { loadAddress: 0x3fff0030, data: codeLike(random, 0x1800) },
    { loadAddress: 0x40078000, data: codeLike(random, 0x3400) },
  ]);
  const descriptor = appDescriptor({ version, projectName });
  const app = buildImage(chip, [
    { loadAddress: DROM[chip], data: Buffer.concat([descriptor, codeLike(random, 0x2000)]) },
    { loadAddress: 0x3ffb0000, data: codeLike(random, 0x800) },
    { loadAddress: 0x400d0020, data: codeLike(random, options.appCodeBytes ?? 160 * 1024) },
  ]);
  const table = partitionTable([
    { label: 'nvs', type: PARTITION_TYPE.data, subtype: DATA_SUBTYPE.nvs, ...DEMO_LAYOUT.nvs },
    { label: 'phy_init', type: PARTITION_TYPE.data, subtype: 0x01, ...DEMO_LAYOUT.phyInit },
    { label: 'factory', type: PARTITION_TYPE.app, subtype: 0x00, ...DEMO_LAYOUT.factory },
  ]);
  const bootloaderOffset = CHIP_FACTS[chip].bootloaderOffset;
  const parts: DemoPart[] = [
    { name: 'bootloader', file: 'bootloader/bootloader.bin', offset: bootloaderOffset, data: bootloader },
    { name: 'partition-table', file: 'partition_table/partition-table.bin', offset: PARTITION_TABLE_OFFSET, data: table },
    { name: 'app', file: `${projectName}.bin`, offset: DEMO_LAYOUT.factory.offset, data: app },
  ];
  return { chip, version, parts, flasherArgs: flasherArgs(chip, parts), nvs: { ...DEMO_LAYOUT.nvs } };
}

function flasherArgs(chip: Esp32Chip, parts: DemoPart[]): Record<string, unknown> {
  const hex = (n: number) => `0x${n.toString(16)}`;
  const entry = (part: DemoPart) => ({ offset: hex(part.offset), file: part.file, encrypted: 'false' });
  const byName = (name: DemoPart['name']) => parts.find((part) => part.name === name)!;
  return {
    write_flash_args: ['--flash_mode', 'dio', '--flash_size', '4MB', '--flash_freq', chip === 'esp32' ? '40m' : '80m'],
    flash_settings: { flash_mode: 'dio', flash_size: '4MB', flash_freq: chip === 'esp32' ? '40m' : '80m' },
    flash_files: Object.fromEntries(parts.map((part) => [hex(part.offset), part.file])),
    bootloader: entry(byName('bootloader')),
    app: entry(byName('app')),
    'partition-table': entry(byName('partition-table')),
    extra_esptool_args: { after: 'hard_reset', before: 'default_reset', stub: true, chip },
  };
}

/** An ESP-IDF image: header, extended header, segments, checksum at the end of a 16-byte block, SHA-256. */
export function buildImage(chip: Esp32Chip, segments: Array<{ loadAddress: number; data: Uint8Array }>): Uint8Array {
  const header = Buffer.alloc(24);
  header[0] = IMAGE_MAGIC;
  header[1] = segments.length;
  header[2] = 0x02; // DIO
  header[3] = 0x20 | (chip === 'esp32' ? 0x0 : 0xf); // 4 MB; 40 MHz (ESP32) or 80 MHz
  header.writeUInt32LE(segments[0]!.loadAddress, 4);
  header[8] = 0xee; // no WP pin
  header.writeUInt16LE(CHIP_FACTS[chip].imageChipId, 12);
  header.writeUInt16LE(0, 15); // min_chip_rev_full
  header.writeUInt16LE(MAX_REV_FULL[chip], 17);
  header[23] = 1; // SHA-256 appended
  const pieces: Uint8Array[] = [header];
  let length = header.length;
  let checksum = 0xef;
  for (const segment of segments) {
    const segmentHeader = Buffer.alloc(8);
    segmentHeader.writeUInt32LE(segment.loadAddress, 0);
    segmentHeader.writeUInt32LE(segment.data.length, 4);
    pieces.push(segmentHeader, segment.data);
    length += 8 + segment.data.length;
    for (const byte of segment.data) checksum ^= byte;
  }
  const padding = Buffer.alloc(15 - (length % 16));
  pieces.push(padding, Uint8Array.of(checksum));
  const body = Buffer.concat(pieces);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** esp_app_desc_t: magic, secure version, version, project name, build time and date, ESP-IDF version, ELF SHA-256. */
function appDescriptor(options: { version: string; projectName: string }): Buffer {
  const descriptor = Buffer.alloc(APP_DESC_SIZE);
  descriptor.writeUInt32LE(APP_DESC_MAGIC, 0);
  descriptor.write(options.version.slice(0, 31), 16, 'latin1');
  descriptor.write(options.projectName.slice(0, 31), 48, 'latin1');
  descriptor.write('12:00:00', 80, 'latin1');
  descriptor.write('Jan 10 2025', 96, 'latin1');
  descriptor.write('v5.2.1', 112, 'latin1');
  createHash('sha256').update(options.version).digest().copy(descriptor, 144);
  return descriptor;
}

interface TableEntry {
  label: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
}

/** The binary partition table gen_esp32part.py writes: entries, the MD5 entry, 0xFF to 0xC00 bytes. */
export function partitionTable(entries: TableEntry[]): Uint8Array {
  const table = Buffer.alloc(PARTITION_TABLE_MAX_SIZE, 0xff);
  entries.forEach((entry, index) => {
    const at = index * 32;
    table.writeUInt16LE(0x50aa, at);
    table[at + 2] = entry.type;
    table[at + 3] = entry.subtype;
    table.writeUInt32LE(entry.offset, at + 4);
    table.writeUInt32LE(entry.size, at + 8);
    table.fill(0, at + 12, at + 28);
    table.write(entry.label, at + 12, 'latin1');
    table.writeUInt32LE(0, at + 28);
  });
  const md5At = entries.length * 32;
  table.writeUInt16LE(0xebeb, md5At);
  createHash('md5').update(table.subarray(0, md5At)).digest().copy(table, md5At + 16);
  return table;
}

/** Bytes with the texture of firmware: instruction words from a small vocabulary, pointers, log strings, zero runs. */
function codeLike(random: () => number, size: number): Buffer {
  const out = Buffer.alloc(size);
  const opcodes = Array.from({ length: 48 }, () => Math.floor(random() * 0xffffff));
  const strings = ['E (%lu) %s: %s\n', 'wifi:connected', 'nvs_get_str failed', 'thermometer/', 'mqtt: publish %d', 'heap_caps_malloc'];
  let at = 0;
  while (at < size) {
    const pick = random();
    if (pick < 0.7) {
      const op = opcodes[Math.floor(random() * opcodes.length)]!;
      out[at++] = op & 0xff;
      if (at < size) out[at++] = (op >> 8) & 0xff;
      if (at < size) out[at++] = random() < 0.5 ? (op >> 16) & 0xff : Math.floor(random() * 256);
    } else if (pick < 0.85) {
      const pointer = (0x3ffb0000 + Math.floor(random() * 0x4000) * 4) >>> 0;
      for (let i = 0; i < 4 && at < size; i++) out[at++] = (pointer >> (8 * i)) & 0xff;
    } else if (pick < 0.95) {
      for (const byte of Buffer.from(strings[Math.floor(random() * strings.length)]!, 'latin1')) if (at < size) out[at++] = byte;
    } else {
      at += Math.floor(random() * 24);
    }
  }
  return out;
}

/** A small deterministic generator (mulberry32) seeded from text: the same build gives the same bytes. */
function seededRandom(seed: string): () => number {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
