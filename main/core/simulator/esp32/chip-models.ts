import type { Esp32Chip } from '../../devices/esp32/chips.ts';

/** The SPI controller registers esptool drives to send raw flash commands (RDID, SFDP). */
export interface SpiRegisters {
  base: number;
  usr: number;
  usr2: number;
  w0: number;
}

/**
 * What one chip model looks like from the ROM bootloader's side: the magic
 * value it reports, its eFuse layout (where the factory MAC is), its SPI
 * controller, and what its ROM prints at reset. Addresses and layouts follow
 * Espressif's technical reference manuals as esptool reads them.
 */
export interface ChipModel {
  chip: Esp32Chip;
  magic: number;
  /** GET_SECURITY_INFO's chip id and ECO version; undefined where the ROM has no such command (ESP32). */
  securityInfo: { chipId: number; ecoVersion: number } | undefined;
  /** The ROM's 64-byte flash read (ESP32 only). */
  readFlashSlow: boolean;
  spi: SpiRegisters;
  /** Register values that never change: eFuses (with the MAC), chip revision, clock calibration. */
  fixedRegisters(mac: Uint8Array): Map<number, number>;
  /** The UART clock divider register; esptool reads it to guess the crystal. */
  uartClockDivider: number;
  /** What the ROM prints after a reset, in download mode and when booting from flash. */
  romBanner: { download: string; flashBoot: string };
}

const be32 = (bytes: Uint8Array, at: number) => ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;

/** The MAC's CRC-8 stored next to it in the ESP32's eFuse: reflected polynomial 0x8C, initial 0 (the ROM's esp_crc8, CRC-8/MAXIM). */
function macCrc8(mac: Uint8Array): number {
  let crc = 0;
  for (const byte of mac) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >> 1) ^ 0x8c : crc >> 1;
  }
  return crc;
}

const ESP32_EFUSE = 0x3ff5a000;

const esp32: ChipModel = {
  chip: 'esp32',
  magic: 0x00f01d83,
  securityInfo: undefined,
  readFlashSlow: true,
  spi: { base: 0x3ff42000, usr: 0x1c, usr2: 0x24, w0: 0x80 },
  uartClockDivider: 0x3ff40014,
  fixedRegisters(mac) {
    return new Map([
      // BLK0 words 1 and 2: the factory MAC (big-endian across the two words) and its CRC.
      [ESP32_EFUSE + 4, be32(mac, 2)],
      [ESP32_EFUSE + 8, ((macCrc8(mac) << 16) | (mac[0]! << 8) | mac[1]!) >>> 0],
      // Word 3: package D0WD (bits 9-11) and revision bit 0; word 5: revision bit 1; APB date bit 2: chip v3.0.
      [ESP32_EFUSE + 12, (1 << 9) | (1 << 15)],
      [ESP32_EFUSE + 16, 0x80], // CK8M frequency, with RTCCALICFG1 below: the ROM measured a 40 MHz crystal
      [ESP32_EFUSE + 20, 1 << 20],
      [0x3ff6607c, 0x80000000],
      [0x3ff5f06c, 800 << 7],
    ]);
  },
  romBanner: {
    download: 'ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\nwaiting for download\r\n',
    flashBoot:
      'ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\nconfigsip: 0, SPIWP:0xee\r\nclk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\nmode:DIO, clock div:2\r\n',
  },
};

/** ESP32-S3 and ESP32-C3 share a layout: MAC in eFuse block 1's first two words, revision fields in words 3 and 5. */
function efuseBlock1Chip(options: {
  chip: Esp32Chip;
  magic: number;
  chipId: number;
  efuseBase: number;
  minorRevision: number;
  romBanner: ChipModel['romBanner'];
}): ChipModel {
  const block1 = options.efuseBase + 0x44;
  return {
    chip: options.chip,
    magic: options.magic,
    securityInfo: { chipId: options.chipId, ecoVersion: 0 },
    readFlashSlow: false,
    spi: { base: 0x60002000, usr: 0x18, usr2: 0x20, w0: 0x58 },
    uartClockDivider: 0x60000014,
    fixedRegisters(mac) {
      return new Map([
        [block1, be32(mac, 2)],
        [block1 + 4, (mac[0]! << 8) | mac[1]!],
        [block1 + 12, (options.minorRevision & 0x7) << 18],
      ]);
    },
    romBanner: options.romBanner,
  };
}

const esp32s3 = efuseBlock1Chip({
  chip: 'esp32s3',
  magic: 0x9,
  chipId: 9,
  efuseBase: 0x60007000,
  minorRevision: 2,
  romBanner: {
    download: 'ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\nrst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n',
    flashBoot: 'ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\nrst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\nSPIWP:0xee\r\nmode:DIO, clock div:1\r\n',
  },
});

const esp32c3 = efuseBlock1Chip({
  chip: 'esp32c3',
  magic: 0x1b31506f,
  chipId: 5,
  efuseBase: 0x60008800,
  minorRevision: 4,
  romBanner: {
    download: 'ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\nrst:0x1 (POWERON),boot:0x3 (DOWNLOAD(USB/UART0/1))\r\nwaiting for download\r\n',
    flashBoot: 'ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\nrst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\r\nSPIWP:0xee\r\nmode:DIO, clock div:1\r\n',
  },
});

export const CHIP_MODELS: Record<Esp32Chip, ChipModel> = { esp32, esp32s3, esp32c3 };
