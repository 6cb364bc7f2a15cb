import type { ESPLoader } from 'esptool-js';
import { ProtocolError } from '../../errors.ts';
import type { Esp32Chip } from './chips.ts';
import { ROM_COMMAND } from './rom-protocol.ts';

/**
 * ROM commands the driver sends itself, on esptool-js's command layer, where
 * esptool-js's own helpers assume its flasher stub: the shapes follow what
 * esptool.py sends with --no-stub, which is what the ROM expects.
 */

const words = (...values: number[]) => {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => out.writeUInt32LE(value >>> 0, index * 4));
  return new Uint8Array(out);
};

/** The ESP32's eFuse words that hold its SPI flash pad configuration (BLK0 RDATA5 and RDATA3). */
const ESP32_EFUSE_RDATA5 = 0x3ff5a014;
const ESP32_EFUSE_RDATA3 = 0x3ff5a00c;

/**
 * SPI_ATTACH: the ROM does not talk to the flash until told to. The ESP32
 * takes its pads from eFuse (in-package flash); the others use the defaults.
 */
export async function attachFlash(loader: ESPLoader, chip: Esp32Chip): Promise<void> {
  let pads = 0;
  if (chip === 'esp32') {
    const rdata5 = await loader.readReg(ESP32_EFUSE_RDATA5);
    const rdata3 = await loader.readReg(ESP32_EFUSE_RDATA3);
    const clk = rdata5 & 0x1f;
    const q = (rdata5 >> 5) & 0x1f;
    const d = (rdata5 >> 10) & 0x1f;
    const cs = (rdata5 >> 15) & 0x1f;
    const hd = (rdata3 >> 4) & 0x1f;
    pads = ((hd << 24) | (cs << 18) | (d << 12) | (q << 6) | clk) >>> 0;
  }
  // The ROM takes a second word ("is legacy", 0).
  await loader.checkCommand('configure SPI flash pins', ROM_COMMAND.SPI_ATTACH, words(pads, 0));
}

/** SPI_SET_PARAMS: tells the ROM the flash chip's size (64 KiB blocks, 4 KiB sectors, 256-byte pages). */
export async function setFlashSize(loader: ESPLoader, size: number): Promise<void> {
  await loader.checkCommand('set SPI params', ROM_COMMAND.SPI_SET_PARAMS, words(0, size, 64 * 1024, 4 * 1024, 256, 0xffff));
}

/** SPI_FLASH_MD5: the chip's own MD5 of a flash region. The ROM answers with 32 hex characters. */
export async function flashMd5(loader: ESPLoader, offset: number, size: number, port: string): Promise<string> {
  const timeout = Math.max(3000, (8000 * size) / 1e6);
  const answer = (await loader.checkCommand('calculate md5sum', ROM_COMMAND.SPI_FLASH_MD5, words(offset, size, 0, 0), 0, 32, timeout)) as Uint8Array;
  const text = Buffer.from(answer).toString('latin1');
  if (!/^[0-9a-f]{32}$/.test(text)) throw new ProtocolError(`the chip answered the MD5 of flash with "${Buffer.from(answer).toString('hex')}", not 32 hex digits`, { where: { port } });
  return text;
}

/**
 * CHANGE_BAUDRATE (new rate, 0 for the ROM). The ESP32's ROM derives its
 * UART clock from an uncalibrated 8 MHz oscillator; esptool corrects the rate
 * it asks for by the ROM's own crystal estimate, and so does this.
 */
export async function changeRomBaudRate(loader: ESPLoader, chip: Esp32Chip, baudRate: number): Promise<void> {
  let asked = baudRate;
  if (chip === 'esp32') {
    const calibration = ((await loader.readReg(0x3ff5f06c)) >>> 7) & 0x01ffffff;
    const ck8m = (await loader.readReg(0x3ff5a010)) & 0xff;
    const romCrystalHz = (calibration * 15625 * ck8m) / 40;
    const crystalHz = romCrystalHz > 33_000_000 ? 40_000_000 : 26_000_000;
    if (romCrystalHz > 0) asked = Math.floor((baudRate * romCrystalHz) / crystalHz);
  }
  await loader.command(ROM_COMMAND.CHANGE_BAUDRATE, words(asked, 0));
}

/**
 * Leaves the ROM for the application without a reset line: FLASH_BEGIN with
 * nothing to write, then FLASH_END "run user code" (esptool's soft reset).
 */
export async function runUserCode(loader: ESPLoader, chip: Esp32Chip): Promise<void> {
  // Chips that can encrypt take a fifth word ("not encrypted"); the ESP32's ROM takes four.
  const begin = chip === 'esp32' ? words(0, 0, 0x400, 0) : words(0, 0, 0x400, 0, 0);
  await loader.checkCommand('enter Flash download mode', ROM_COMMAND.FLASH_BEGIN, begin);
  await loader.checkCommand('leave Flash mode', ROM_COMMAND.FLASH_END, words(1));
}
