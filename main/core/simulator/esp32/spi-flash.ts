import { createHash } from 'node:crypto';
import { FLASH_SECTOR } from '../../devices/firmware-image.ts';

/** A bad spot in the simulated flash chip. */
export interface FlashDefects {
  /** Writes to the sector holding this address fail (the ROM answers "flash write error"). */
  badSectorAt?: number;
  /** The byte at this address never keeps one of its bits: written data reads back different, silently. */
  weakBitAt?: number;
}

/**
 * The NOR flash behind a simulated chip. Like the real part it erases in 4 KiB
 * sectors to 0xFF and programming can only clear bits, so data written over
 * data that was not erased comes back wrong, as it would on hardware.
 */
export class SpiFlash {
  readonly size: number;
  readonly bytes: Uint8Array;
  private readonly defects: FlashDefects;

  constructor(size: number, defects: FlashDefects = {}) {
    if (size % FLASH_SECTOR !== 0) throw new Error(`flash size ${size} is not a whole number of sectors`);
    this.size = size;
    this.bytes = new Uint8Array(size).fill(0xff);
    this.defects = defects;
  }

  /** Erases every sector that [offset, offset + length) touches. */
  erase(offset: number, length: number): void {
    if (length === 0) return;
    const start = Math.floor(offset / FLASH_SECTOR) * FLASH_SECTOR;
    const end = Math.ceil((offset + length) / FLASH_SECTOR) * FLASH_SECTOR;
    this.bytes.fill(0xff, start, Math.min(end, this.size));
  }

  /** Programs bytes; false when the write touched a bad sector (nothing is stored there). */
  program(offset: number, data: Uint8Array): boolean {
    const bad = this.defects.badSectorAt;
    if (bad !== undefined && rangesOverlap(offset, data.length, sectorOf(bad), FLASH_SECTOR)) return false;
    for (let i = 0; i < data.length; i++) this.bytes[offset + i]! &= data[i]!;
    const weak = this.defects.weakBitAt;
    if (weak !== undefined && weak >= offset && weak < offset + data.length) this.bytes[weak]! ^= 0x01;
    return true;
  }

  contains(offset: number, length: number): boolean {
    return offset >= 0 && length >= 0 && offset + length <= this.size;
  }

  read(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length);
  }

  md5(offset: number, length: number): string {
    return createHash('md5').update(this.read(offset, length)).digest('hex');
  }
}

function sectorOf(address: number): number {
  return Math.floor(address / FLASH_SECTOR) * FLASH_SECTOR;
}

function rangesOverlap(aStart: number, aLength: number, bStart: number, bLength: number): boolean {
  return aStart < bStart + bLength && bStart < aStart + aLength;
}
