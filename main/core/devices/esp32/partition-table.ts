import { createHash } from 'node:crypto';

/**
 * ESP-IDF's binary partition table (esp_partition_info_t entries of 32
 * bytes: magic 0x50AA, type, subtype, offset, size, label, flags), closed by
 * an MD5 entry (0xEBEB, then the MD5 of the entries before it) and 0xFF.
 */
export const PARTITION_TABLE_OFFSET = 0x8000;
export const PARTITION_TABLE_MAX_SIZE = 0xc00;
const ENTRY_SIZE = 32;
const ENTRY_MAGIC = 0x50aa;
const MD5_MAGIC = 0xebeb;

export const PARTITION_TYPE = { app: 0x00, data: 0x01 } as const;
export const DATA_SUBTYPE = { nvs: 0x02 } as const;

export interface Partition {
  label: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
  flags: number;
}

export type PartitionTableResult = { ok: true; partitions: Partition[] } | { ok: false; reason: string };

export function parsePartitionTable(bytes: Uint8Array): PartitionTableResult {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, PARTITION_TABLE_MAX_SIZE));
  const partitions: Partition[] = [];
  for (let at = 0; at + ENTRY_SIZE <= view.length; at += ENTRY_SIZE) {
    const magic = view.readUInt16LE(at);
    if (magic === ENTRY_MAGIC) {
      const label = view.subarray(at + 12, at + 28);
      const end = label.indexOf(0);
      partitions.push({
        type: view[at + 2]!,
        subtype: view[at + 3]!,
        offset: view.readUInt32LE(at + 4),
        size: view.readUInt32LE(at + 8),
        label: label.subarray(0, end < 0 ? 16 : end).toString('latin1'),
        flags: view.readUInt32LE(at + 28),
      });
      continue;
    }
    if (magic === MD5_MAGIC) {
      const expected = createHash('md5').update(view.subarray(0, at)).digest();
      if (!expected.equals(view.subarray(at + 16, at + 32))) return { ok: false, reason: 'its MD5 entry does not match its entries' };
      return partitions.length ? { ok: true, partitions } : { ok: false, reason: 'it has no entries' };
    }
    if (magic === 0xffff) return partitions.length ? { ok: true, partitions } : { ok: false, reason: 'it has no entries' };
    return { ok: false, reason: `entry ${at / ENTRY_SIZE} has magic 0x${magic.toString(16)}, not 0x50aa` };
  }
  return { ok: false, reason: 'it is not terminated' };
}

/** The NVS partition: the one with this label, else the first data/nvs partition. */
export function findNvsPartition(partitions: Partition[], label?: string): Partition | undefined {
  const nvs = partitions.filter((p) => p.type === PARTITION_TYPE.data && p.subtype === DATA_SUBTYPE.nvs);
  return label === undefined ? nvs[0] : nvs.find((p) => p.label === label);
}

/** The application the bootloader starts with no OTA data: the factory app, else the first OTA slot. */
export function findBootApp(partitions: Partition[]): Partition | undefined {
  const apps = partitions.filter((p) => p.type === PARTITION_TYPE.app);
  return apps.find((p) => p.subtype === 0x00) ?? apps.find((p) => p.subtype === 0x10);
}
