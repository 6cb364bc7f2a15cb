import { CHIP_FACTS } from '../../devices/esp32/chips.ts';
import { checkImage, readAppDescriptor } from '../../devices/esp32/app-image.ts';
import { findBootApp, parsePartitionTable, PARTITION_TABLE_MAX_SIZE, PARTITION_TABLE_OFFSET } from '../../devices/esp32/partition-table.ts';
import type { ChipModel } from './chip-models.ts';
import type { SpiFlash } from './spi-flash.ts';

/** What a chip prints when it boots from flash, and whether it got as far as the application. */
export interface FlashBoot {
  lines: string[];
  /** The application's version, when it started. */
  version: string | undefined;
}

/**
 * Boots whatever the simulated flash holds, the way the ROM and ESP-IDF's
 * second-stage bootloader would: the bootloader image must be valid, the
 * partition table must parse, the factory (or first OTA) app must pass its
 * checksum and SHA-256. Each failure prints what ESP-IDF prints and stops
 * there (a real unit would then reset and try again).
 */
export function bootFromFlash(model: ChipModel, flash: SpiFlash, extraAppLines: string[] = []): FlashBoot {
  const lines = model.romBanner.flashBoot.split('\r\n').filter((line) => line !== '');
  const fail = (...more: string[]): FlashBoot => ({ lines: [...lines, ...more], version: undefined });
  const bootloaderOffset = CHIP_FACTS[model.chip].bootloaderOffset;
  const bootloader = checkImage(flash.read(bootloaderOffset, flash.size - bootloaderOffset));
  if (!bootloader.ok) {
    const word = Buffer.from(flash.read(bootloaderOffset, 4)).readUInt32LE(0);
    return fail(`invalid header: 0x${word.toString(16).padStart(8, '0')}`);
  }
  lines.push('I (29) boot: ESP-IDF v5.2.1 2nd stage bootloader', `I (31) boot: chip revision: ${model.chip === 'esp32' ? 'v3.0' : 'v0.2'}`);
  const table = parsePartitionTable(flash.read(PARTITION_TABLE_OFFSET, PARTITION_TABLE_MAX_SIZE));
  if (!table.ok) return fail(`E (52) boot: Failed to verify partition table (${table.reason})`, 'E (56) boot: load partition table error!');
  lines.push('I (60) boot: Partition Table:', 'I (64) boot: ## Label            Usage          Type ST Offset   Length');
  for (const [index, p] of table.partitions.entries()) {
    const hex = (value: number, width: number) => value.toString(16).padStart(width, '0');
    lines.push(`I (71) boot: ${String(index).padStart(2)} ${p.label.padEnd(16)} ${partitionUsage(p.type, p.subtype).padEnd(16)} ${hex(p.type, 2)} ${hex(p.subtype, 2)} ${hex(p.offset, 8)} ${hex(p.size, 8)}`);
  }
  lines.push('I (88) boot: End of partition table');
  const app = findBootApp(table.partitions);
  if (!app || !flash.contains(app.offset, app.size)) return fail('E (96) boot: No bootable app partitions in the partition table');
  const bytes = flash.read(app.offset, app.size);
  const image = checkImage(bytes);
  if (!image.ok) {
    return fail(`E (101) esp_image: image at 0x${app.offset.toString(16)} ${image.reason}`, `E (107) boot: ${app.label} partition is not bootable`, 'E (113) boot: No bootable app partitions in the partition table');
  }
  const descriptor = readAppDescriptor(bytes);
  if (!descriptor) return fail(`E (101) esp_image: image at 0x${app.offset.toString(16)} has no application description`);
  lines.push(
    `I (120) boot: Loaded app from partition at offset 0x${app.offset.toString(16)}`,
    'I (302) cpu_start: Pro cpu up.',
    'I (320) app_init: Application information:',
    `I (324) app_init: Project name:     ${descriptor.projectName}`,
    `I (329) app_init: App version:      ${descriptor.version}`,
    `I (334) app_init: ESP-IDF:          ${descriptor.idfVersion}`,
    'I (356) main_task: Started on CPU0',
    ...extraAppLines,
  );
  return { lines, version: descriptor.version };
}

/** The "Usage" column of ESP-IDF's bootloader log. */
function partitionUsage(type: number, subtype: number): string {
  if (type === 0x00) return subtype === 0x00 ? 'factory app' : subtype >= 0x10 && subtype < 0x20 ? 'OTA app' : 'unknown';
  if (type === 0x01) return ({ 0x00: 'OTA data', 0x01: 'RF data', 0x02: 'WiFi data', 0x03: 'NVS keys' } as Record<number, string>)[subtype] ?? 'unknown';
  return 'unknown';
}
