import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.ts';

/**
 * Multi-part firmware: what an ESP-IDF build flashes (bootloader, partition
 * table, application, each at its own flash address), or one merged binary.
 */
export interface FlashPart {
  /** "bootloader", "partition-table", "app", or the file's name. */
  name: string;
  /** Flash address. */
  offset: number;
  data: Uint8Array;
}

/** A firmware version as the station flashes it: one binary, and optionally the parts it is made of. */
export interface FirmwareImage {
  data: Uint8Array;
  /** Lowercase hex SHA-256 of data. */
  sha256: string;
  versionId: string;
  /**
   * The image as parts at flash addresses (an ESP-IDF build: bootloader,
   * partition table, application). When present, data holds the same parts
   * merged into one binary from address 0 (gaps erased, 0xFF), so a driver
   * that takes one blob still gets the whole image. See firmware-image.ts.
   */
  parts?: readonly FlashPart[];
}

/** Flash is erased in 4 KiB sectors; a part that starts mid-sector would erase its neighbour's bytes. */
export const FLASH_SECTOR = 0x1000;

/** Sorted by address; refuses empty parts, parts not on a sector boundary and parts that overlap. */
export function checkFlashParts(parts: readonly FlashPart[], source: string): FlashPart[] {
  if (parts.length === 0) throw new ConfigError(`${source} has no parts to flash`);
  const sorted = [...parts].sort((a, b) => a.offset - b.offset);
  for (const [index, part] of sorted.entries()) {
    const where = `${source}: ${part.name} at 0x${part.offset.toString(16)}`;
    if (!Number.isSafeInteger(part.offset) || part.offset < 0 || part.offset % FLASH_SECTOR !== 0) {
      throw new ConfigError(`${where} does not start on a 4 KiB flash sector`, { hint: 'Flash parts start at multiples of 0x1000, as ESP-IDF lays them out.' });
    }
    if (part.data.length === 0) throw new ConfigError(`${where} is empty`);
    const next = sorted[index + 1];
    if (next && part.offset + part.data.length > next.offset) {
      throw new ConfigError(`${where} (${part.data.length} bytes) overlaps ${next.name} at 0x${next.offset.toString(16)}`);
    }
  }
  return sorted;
}

/** One binary from address 0 with every part in place and the gaps erased (what esptool merge_bin writes). */
export function mergeFlashParts(parts: readonly FlashPart[]): Uint8Array {
  const end = Math.max(...parts.map((part) => part.offset + part.data.length));
  const merged = new Uint8Array(end).fill(0xff);
  for (const part of parts) merged.set(part.data, part.offset);
  return merged;
}

/** A FirmwareImage made of parts; its data and hash are the merged binary's. */
export function partedFirmwareImage(parts: readonly FlashPart[], versionId: string, source = 'the firmware'): FirmwareImage {
  const checked = checkFlashParts(parts, source);
  const data = mergeFlashParts(checked);
  return { data, sha256: createHash('sha256').update(data).digest('hex'), versionId, parts: checked };
}

/** The parts to write: the image's own, or the whole image as one part at `offset` (0 for a merged binary). */
export function flashPartsOf(image: FirmwareImage, offset = 0): FlashPart[] {
  if (image.parts?.length) return checkFlashParts(image.parts, `firmware ${image.versionId}`);
  return checkFlashParts([{ name: offset === 0 ? 'merged image' : 'image', offset, data: image.data }], `firmware ${image.versionId}`);
}
