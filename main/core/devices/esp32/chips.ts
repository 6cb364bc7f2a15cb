/**
 * The ESP32 chips a line can provision, with the facts both the station and
 * its simulator need. Names are spelled as esptool and esptool-js report them.
 */
export const ESP32_CHIPS = ['esp32', 'esp32s3', 'esp32c3'] as const;
export type Esp32Chip = (typeof ESP32_CHIPS)[number];

export interface ChipFacts {
  /** "ESP32-S3": how esptool names the chip. */
  name: string;
  /** The chip id in an application image's extended header (esp_chip_id_t). */
  imageChipId: number;
  /** Where the second-stage bootloader lives in flash. */
  bootloaderOffset: number;
}

export const CHIP_FACTS: Record<Esp32Chip, ChipFacts> = {
  esp32: { name: 'ESP32', imageChipId: 0, bootloaderOffset: 0x1000 },
  esp32s3: { name: 'ESP32-S3', imageChipId: 9, bootloaderOffset: 0x0 },
  esp32c3: { name: 'ESP32-C3', imageChipId: 5, bootloaderOffset: 0x0 },
};

/** The chip kind esptool calls `name`, if it is one the station supports. */
export function chipByName(name: string): Esp32Chip | undefined {
  return ESP32_CHIPS.find((chip) => CHIP_FACTS[chip].name === name);
}
