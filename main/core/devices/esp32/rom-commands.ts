import type { ESPLoader } from 'esptool-js';
import { constants as pakoConstants, deflate, Inflate } from 'pako';
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

/**
 * Writes one region compressed, as esptool.py does with the ROM: the image
 * padded to 4 bytes with 0xFF, deflated at level 9, FLASH_DEFL_BEGIN, then
 * FLASH_DEFL_DATA blocks of FLASH_WRITE_SIZE, each with a timeout for the
 * bytes it inflates to (the ROM programs them before it answers). Unlike
 * esptool-js's writeFlash, which inflates every block again one byte at a
 * time (pako with chunkSize 1) between two commands, about 0.8 ms of CPU per
 * block on the line's critical path, this sizes every block in one pass
 * before the first is sent.
 */
export async function writeFlashCompressed(loader: ESPLoader, region: { offset: number; data: Uint8Array }, onProgress?: (written: number, total: number) => void): Promise<void> {
  if (region.data.length === 0) return;
  const padding = (4 - (region.data.length % 4)) % 4;
  const image = padding === 0 ? region.data : Buffer.concat([region.data, Buffer.alloc(padding, 0xff)]);
  // pako, as esptool-js: zlib's own level 9 (esptool.py's bytes exactly); Node's zlib fork gives about 3 % more to send.
  const compressed = deflate(image, { level: 9 });
  const blockSize = loader.FLASH_WRITE_SIZE;
  const blocks: Uint8Array[] = [];
  for (let at = 0; at < compressed.length; at += blockSize) blocks.push(compressed.subarray(at, at + blockSize));
  const inflated = inflatedSizes(blocks);
  await loader.flashDeflBegin(image.length, compressed.length, region.offset);
  onProgress?.(0, compressed.length);
  let sent = 0;
  for (const [seq, block] of blocks.entries()) {
    await loader.flashDeflBlock(block, seq, Math.max(3000, loader.timeoutPerMb(loader.ERASE_WRITE_TIMEOUT_PER_MB, inflated[seq]!)));
    sent += block.length;
    onProgress?.(sent, compressed.length);
  }
}

/** How many bytes each block of a deflate stream inflates to: one pass, flushed after every block. */
function inflatedSizes(blocks: Uint8Array[]): number[] {
  const inflate = new Inflate({ chunkSize: 64 * 1024 });
  let produced = 0;
  inflate.onData = (chunk: Uint8Array) => {
    produced += chunk.length;
  };
  return blocks.map((block, index) => {
    const before = produced;
    inflate.push(block, index === blocks.length - 1 ? pakoConstants.Z_FINISH : pakoConstants.Z_SYNC_FLUSH);
    if (inflate.err) throw new Error(`the compressed image does not inflate (${inflate.msg})`);
    return produced - before;
  });
}
