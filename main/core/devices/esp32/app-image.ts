import { createHash } from 'node:crypto';

/**
 * The ESP-IDF image format (esp_image_header_t): what the ROM and the
 * second-stage bootloader check before they run an image. A 24-byte header
 * (magic 0xE9, segment count, flash settings, entry, extended header with the
 * chip id), segments (load address, length, bytes), a checksum byte (0xEF XOR
 * every segment byte) at the end of the 16-byte-aligned block, and optionally
 * a SHA-256 of all of that.
 */
export const IMAGE_MAGIC = 0xe9;
export const IMAGE_HEADER_SIZE = 24;
export const SEGMENT_HEADER_SIZE = 8;
/** esp_app_desc_t's magic word, at the start of an application's first segment. */
export const APP_DESC_MAGIC = 0xabcd5432;
export const APP_DESC_SIZE = 256;

export interface ImageSegment {
  loadAddress: number;
  /** Where the segment's bytes start, within the image. */
  dataOffset: number;
  length: number;
}

export interface ParsedImage {
  chipId: number;
  segments: ImageSegment[];
  hashAppended: boolean;
  /** Bytes the image occupies, checksum and hash included. */
  length: number;
}

export type ImageCheck = { ok: true; image: ParsedImage } | { ok: false; reason: string };

/** The longest image the checks walk: a flash is at most 16 MiB here. */
const MAX_SEGMENTS = 16;

/** Checks an image the way the bootloader does before running it: header, segments, checksum, SHA-256. */
export function checkImage(bytes: Uint8Array): ImageCheck {
  if (bytes.length < IMAGE_HEADER_SIZE) return { ok: false, reason: 'image is shorter than its header' };
  if (bytes[0] !== IMAGE_MAGIC) return { ok: false, reason: `invalid magic byte 0x${bytes[0]!.toString(16).padStart(2, '0')} (expected 0xe9)` };
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes[1]!;
  if (count === 0 || count > MAX_SEGMENTS) return { ok: false, reason: `${count} segments` };
  const segments: ImageSegment[] = [];
  let at = IMAGE_HEADER_SIZE;
  let checksum = 0xef;
  for (let i = 0; i < count; i++) {
    if (at + SEGMENT_HEADER_SIZE > bytes.length) return { ok: false, reason: `segment ${i} header runs past the image` };
    const loadAddress = view.readUInt32LE(at);
    const length = view.readUInt32LE(at + 4);
    const dataOffset = at + SEGMENT_HEADER_SIZE;
    if (length > bytes.length - dataOffset) return { ok: false, reason: `segment ${i} (${length} bytes) runs past the image` };
    for (let j = dataOffset; j < dataOffset + length; j++) checksum ^= bytes[j]!;
    segments.push({ loadAddress, dataOffset, length });
    at = dataOffset + length;
  }
  const checksumAt = at + (15 - (at % 16));
  if (checksumAt >= bytes.length) return { ok: false, reason: 'image ends before its checksum' };
  if (bytes[checksumAt] !== checksum) {
    return { ok: false, reason: `checksum failed: calculated 0x${checksum.toString(16).padStart(2, '0')}, read 0x${bytes[checksumAt]!.toString(16).padStart(2, '0')}` };
  }
  const hashAppended = bytes[23] === 1;
  let length = checksumAt + 1;
  if (hashAppended) {
    if (length + 32 > bytes.length) return { ok: false, reason: 'image ends before its SHA-256' };
    const expected = createHash('sha256').update(bytes.subarray(0, length)).digest();
    if (!expected.equals(bytes.subarray(length, length + 32))) return { ok: false, reason: 'SHA-256 of the image does not match' };
    length += 32;
  }
  return { ok: true, image: { chipId: view.readUInt16LE(12), segments, hashAppended, length } };
}

export interface AppDescriptor {
  version: string;
  projectName: string;
  idfVersion: string;
}

/** The application's own description (esp_app_desc_t): its version string as the build stamped it. */
export function readAppDescriptor(bytes: Uint8Array): AppDescriptor | undefined {
  const at = IMAGE_HEADER_SIZE + SEGMENT_HEADER_SIZE;
  if (bytes.length < at + APP_DESC_SIZE || bytes[0] !== IMAGE_MAGIC) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.readUInt32LE(at) !== APP_DESC_MAGIC) return undefined;
  const text = (offset: number, size: number) => {
    const field = view.subarray(at + offset, at + offset + size);
    const end = field.indexOf(0);
    return field.subarray(0, end < 0 ? size : end).toString('latin1');
  };
  return { version: text(16, 32), projectName: text(48, 32), idfVersion: text(112, 32) };
}
