import { crc32 } from 'node:zlib';
import { StationError } from '../../errors.ts';

/**
 * An ESP-IDF NVS partition image (format version 2), byte for byte what
 * ESP-IDF's nvs_partition_gen.py makes from the same namespaces and string
 * values: 4 KiB pages, each with a 32-byte header (state, sequence number,
 * version 0xFE, CRC32), a 32-byte bitmap of entry states (2 bits each) and 126
 * entries of 32 bytes. A namespace is a u8 entry in namespace 0 holding the
 * namespace's index; a string is an entry (type 0x21, span, key, size, CRC32
 * of the data) followed by its bytes and a NUL. Unused pages stay erased, and
 * the last page is kept free for NVS's own garbage collection.
 */
export interface NvsNamespace {
  name: string;
  /** Key → string value, written in this order. */
  strings: Array<{ key: string; value: string }>;
}

const PAGE_SIZE = 4096;
const ENTRY_SIZE = 32;
const FIRST_ENTRY_OFFSET = 64;
const BITMAP_OFFSET = 32;
const ENTRIES_PER_PAGE = 126;
const MAX_KEY_BYTES = 15;
const PAGE_ACTIVE = 0xfffffffe;
const PAGE_FULL = 0xfffffffc;
const VERSION_2 = 0xfe;
const TYPE_U8 = 0x01;
const TYPE_STRING = 0x21;
const CHUNK_ANY = 0xff;

/** The smallest partition NVS can write to: two pages plus the one it keeps free. */
export const MIN_NVS_PARTITION_SIZE = 3 * PAGE_SIZE;

export class NvsImageError extends StationError {
  constructor(message: string, hint: string) {
    super('NVS_IMAGE_INVALID', message, { hint, retryable: false });
  }
}

/** CRC32 as ESP-IDF's crc32_le(0xFFFFFFFF, …) computes it (zlib's crc32 continued from 0xFFFFFFFF). */
function nvsCrc32(data: Uint8Array): number {
  return crc32(data, 0xffffffff) >>> 0;
}

class Page {
  readonly bytes = new Uint8Array(PAGE_SIZE).fill(0xff);
  entryCount = 0;

  constructor(sequence: number) {
    const header = Buffer.from(this.bytes.buffer, 0, ENTRY_SIZE);
    header.writeUInt32LE(PAGE_ACTIVE, 0);
    header.writeUInt32LE(sequence, 4);
    header[8] = VERSION_2;
    header.writeUInt32LE(nvsCrc32(header.subarray(4, 28)), 28);
  }

  markFull(): void {
    Buffer.from(this.bytes.buffer).writeUInt32LE(PAGE_FULL, 0);
  }

  /** Writes entries' bytes at the next free slots and marks those slots written (state 0b10). */
  append(data: Uint8Array, slots: number): void {
    this.bytes.set(data, FIRST_ENTRY_OFFSET + this.entryCount * ENTRY_SIZE);
    for (let i = 0; i < slots; i++) {
      const bit = (this.entryCount + i) * 2;
      this.bytes[BITMAP_OFFSET + (bit >> 3)]! &= ~(1 << (bit & 7));
    }
    this.entryCount += slots;
  }
}

/** An entry header: namespace index, type, span, chunk index, CRC32, key, then 8 bytes of data. */
function entryHeader(namespaceIndex: number, type: number, span: number, key: string, data: Uint8Array): Buffer {
  const entry = Buffer.alloc(ENTRY_SIZE, 0xff);
  entry[0] = namespaceIndex;
  entry[1] = type;
  entry[2] = span;
  entry[3] = CHUNK_ANY;
  entry.fill(0, 8, 24);
  entry.write(key, 8, 'utf8');
  Buffer.from(data).copy(entry, 24);
  entry.writeUInt32LE(nvsCrc32(Buffer.concat([entry.subarray(0, 4), entry.subarray(8, 32)])), 4);
  return entry;
}

class NvsWriter {
  private readonly pages: Page[] = [];
  /** Bytes left for pages, the reserved last page already set aside. */
  private remaining: number;

  constructor(size: number) {
    this.remaining = size - PAGE_SIZE;
    this.newPage();
  }

  private get page(): Page {
    return this.pages[this.pages.length - 1]!;
  }

  private newPage(): void {
    if (this.pages.length > 0) this.page.markFull();
    if (this.remaining === 0) throw new NvsImageError('the values do not fit in the NVS partition', 'Use a larger NVS partition, or fewer or shorter values.');
    this.remaining -= PAGE_SIZE;
    this.pages.push(new Page(this.pages.length));
  }

  writeU8(namespaceIndex: number, key: string, value: number): void {
    if (this.page.entryCount >= ENTRIES_PER_PAGE) this.newPage();
    this.page.append(entryHeader(namespaceIndex, TYPE_U8, 1, key, Uint8Array.of(value)), 1);
  }

  writeString(namespaceIndex: number, key: string, value: string): void {
    const data = Buffer.from(`${value}\0`, 'utf8');
    const dataSlots = Math.ceil(data.length / ENTRY_SIZE);
    // Like ESP-IDF's generator, a string never takes a page's last slot.
    if (dataSlots + 1 >= ENTRIES_PER_PAGE) {
      throw new NvsImageError(`the value for key "${key}" is ${data.length} bytes, more than one NVS page holds`, 'Keep each string under 3968 bytes.');
    }
    if (this.page.entryCount + dataSlots + 1 >= ENTRIES_PER_PAGE) this.newPage();
    const size = Buffer.alloc(8, 0xff);
    size.writeUInt16LE(data.length, 0);
    size.writeUInt32LE(nvsCrc32(data), 4);
    this.page.append(entryHeader(namespaceIndex, TYPE_STRING, dataSlots + 1, key, size), 1);
    this.page.append(data, dataSlots);
  }

  finish(): Uint8Array {
    // The rest stays erased: empty pages, then the page NVS keeps free.
    const image = new Uint8Array(this.pages.length * PAGE_SIZE + this.remaining + PAGE_SIZE).fill(0xff);
    this.pages.forEach((page, index) => image.set(page.bytes, index * PAGE_SIZE));
    return image;
  }
}

/** Printable ASCII: ESP-IDF's tools count key length in characters, so anything else would not match them. */
const KEY = new RegExp(`^[\\x21-\\x7e]{1,${MAX_KEY_BYTES}}$`);

function checkKey(key: string, what: string): void {
  if (!KEY.test(key)) throw new NvsImageError(`${what} "${key}" must be 1 to ${MAX_KEY_BYTES} printable ASCII characters`, 'Rename it in the device profile.');
}

/** Builds the partition image; errors name keys, never values (they are credentials). */
export function buildNvsPartition(namespaces: NvsNamespace[], size: number): Uint8Array {
  if (!Number.isInteger(size) || size % PAGE_SIZE !== 0 || size < MIN_NVS_PARTITION_SIZE) {
    throw new NvsImageError(`an NVS partition of ${size} bytes is not usable`, `NVS partitions are a multiple of 4096 bytes and at least ${MIN_NVS_PARTITION_SIZE}.`);
  }
  const names = new Set<string>();
  for (const namespace of namespaces) {
    checkKey(namespace.name, 'namespace');
    if (names.has(namespace.name)) throw new NvsImageError(`namespace "${namespace.name}" is given twice`, 'Merge its keys into one namespace.');
    names.add(namespace.name);
    const keys = new Set<string>();
    for (const { key, value } of namespace.strings) {
      checkKey(key, 'key');
      if (keys.has(key)) throw new NvsImageError(`key "${key}" is given twice in namespace "${namespace.name}"`, 'Each key holds one value.');
      keys.add(key);
      if (value.includes('\0')) throw new NvsImageError(`the value for key "${key}" contains a NUL character`, 'NVS strings end at the first NUL.');
    }
  }
  const writer = new NvsWriter(size);
  namespaces.forEach((namespace, index) => {
    writer.writeU8(0, namespace.name, index + 1);
    for (const { key, value } of namespace.strings) writer.writeString(index + 1, key, value);
  });
  return writer.finish();
}
