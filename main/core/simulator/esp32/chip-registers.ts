import { CHIP_DETECT_MAGIC_REG_ADDR } from '../../devices/esp32/rom-protocol.ts';
import type { ChipModel } from './chip-models.ts';

/** Raw SPI flash commands esptool sends through the SPI controller's "user command" registers. */
const SPIFLASH_RDID = 0x9f;
const SPI_CMD_USR = 1 << 18;

/**
 * The registers a host reads and writes through READ_REG/WRITE_REG: a plain
 * memory of 32-bit words over the chip's fixed values (magic, eFuses), the
 * UART clock divider for the current baud rate, and enough of the SPI
 * controller to answer a flash ID (RDID) the way a GigaDevice part does.
 */
export class ChipRegisters {
  private readonly model: ChipModel;
  private readonly fixed: Map<number, number>;
  private readonly written = new Map<number, number>();
  private readonly flashId: number;
  baudRate = 115200;

  constructor(model: ChipModel, mac: Uint8Array, flashSize: number) {
    this.model = model;
    this.fixed = model.fixedRegisters(mac);
    this.fixed.set(CHIP_DETECT_MAGIC_REG_ADDR, model.magic);
    // JEDEC id: manufacturer 0xC8 (GigaDevice), type 0x40, capacity log2(size).
    this.flashId = 0xc8 | (0x40 << 8) | (Math.log2(flashSize) << 16);
  }

  read(address: number): number {
    if (address === this.model.uartClockDivider) return Math.round(40_000_000 / this.baudRate);
    return this.written.get(address) ?? this.fixed.get(address) ?? 0;
  }

  /** WRITE_REG: (old & ~mask) | (value & mask); a write that starts a SPI user command runs it. */
  write(address: number, value: number, mask: number): void {
    const next = ((this.read(address) & ~mask) | (value & mask)) >>> 0;
    const spi = this.model.spi;
    if (address === spi.base && next & SPI_CMD_USR) {
      const command = this.read(spi.base + spi.usr2) & 0xff;
      this.written.set(spi.base + spi.w0, command === SPIFLASH_RDID ? this.flashId : 0);
      // The controller clears the bit when the command is done: at once, here.
      this.written.set(address, (next & ~SPI_CMD_USR) >>> 0);
      return;
    }
    this.written.set(address, next);
  }
}
