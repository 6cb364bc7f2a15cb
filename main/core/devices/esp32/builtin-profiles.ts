import { ESP32_CHIPS, type Esp32Chip } from './chips.ts';
import { parseEsp32Profile, type Esp32Profile } from './esp32-profile.ts';

/**
 * Ready-made profiles for ESP-IDF boards with the usual USB-UART bridge and
 * auto-reset circuit: classic reset, MAC serial numbers, flashing at
 * 921600 baud, credentials in namespace "station" of the image's NVS
 * partition, the version from ESP-IDF's "App version:" boot line.
 */
export const ESP32_BUILT_IN_PROFILES: Record<`${Esp32Chip}-devkit`, Esp32Profile> = Object.fromEntries(
  ESP32_CHIPS.map((chip) => [
    `${chip}-devkit`,
    parseEsp32Profile(
      { driver: 'esp32', name: `${chip}-devkit`, description: `An ${chip.toUpperCase()} development board on its USB-UART bridge`, chip, flashBaudRate: 921600 },
      `the built-in ${chip}-devkit profile`,
    ),
  ]),
) as Record<`${Esp32Chip}-devkit`, Esp32Profile>;
