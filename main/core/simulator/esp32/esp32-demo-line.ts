import { startGadgetKeeperEmulator } from '../../cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../config/line-config.ts';
import { ESP32_BUILT_IN_PROFILES } from '../../devices/esp32/builtin-profiles.ts';
import { mergeFlashParts } from '../../devices/firmware-image.ts';
import type { BytePort } from '../../ports/byte-port.ts';
import { openPort } from '../../ports/open-port.ts';
import type { DemoLine, DemoLineOptions } from '../demo-line-types.ts';
import { buildDemoFirmware } from './demo-firmware.ts';
import { startEsp32InMemory, startEsp32OnPty, type HostedEsp32 } from './esp32-hosts.ts';

const CHIP = 'esp32s3';
const PROFILE = ESP32_BUILT_IN_PROFILES['esp32s3-devkit'];
const TARGET_VERSION = '2.1.0';

/** The demo units' factory MACs, as the esp32s3-devkit profile reads them for serial numbers ("24:0a:c4:00:00:01"). */
export function demoMacs(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `24:0a:c4:00:${((i + 1) >> 8).toString(16).padStart(2, '0')}:${((i + 1) & 0xff).toString(16).padStart(2, '0')}`);
}

/**
 * A simulated ESP32-S3 line: a GadgetKeeper emulator whose target version's
 * firmware is an ESP-IDF build (bootloader, partition table with NVS, an
 * application stamped with its version) merged into one binary, and blank
 * simulated chips on ptys through the real serial code (ptys carry no DTR/RTS:
 * the chips come up in their ROM bootloader, as if BOOT were held), or in
 * memory with the auto-reset circuit where socat is missing.
 */
export async function startEsp32DemoLine(options: DemoLineOptions): Promise<DemoLine> {
  const firmware = buildDemoFirmware({ chip: CHIP, version: TARGET_VERSION });
  const macs = demoMacs(options.ports);
  const emulator = await startGadgetKeeperEmulator({
    products: [
      {
        name: 'Sensor',
        serialNumbers: macs,
        versions: [{ name: TARGET_VERSION, description: 'ESP-IDF build, merged', firmware: { base64: Buffer.from(mergeFlashParts(firmware.parts)).toString('base64') } }],
        target: TARGET_VERSION,
      },
    ],
    firmwareEncoding: 'octet-stream',
  });
  const units = await hostUnits(macs).catch(async (error: unknown) => {
    await emulator.stop();
    throw error;
  });
  const config = lineConfigSchema.parse({
    cloud: { backend: 'gadgetkeeper', url: emulator.url },
    device: { profile: PROFILE.name },
    ports: units.paths,
    thingNameTemplate: 'Sensor-{serial}',
  });
  return {
    ...units,
    config,
    profile: PROFILE,
    cloudUrl: emulator.url,
    stop: async () => {
      await units.stop();
      await emulator.stop();
    },
  };
}

async function hostUnits(macs: string[]): Promise<Pick<DemoLine, 'paths' | 'onPty' | 'memoryFallbackReason' | 'open' | 'stop'>> {
  const hosted: HostedEsp32[] = [];
  const stopAll = async () => void (await Promise.all(hosted.map((unit) => unit.stop())));
  try {
    const paths: string[] = [];
    for (const mac of macs) {
      const unit = await startEsp32OnPty({ chip: CHIP, mac, powerOn: 'download', bootDelayMs: 200 });
      hosted.push(unit);
      paths.push(unit.path);
    }
    return { paths, onPty: true, open: openPort, stop: stopAll };
  } catch (error) {
    await stopAll();
    hosted.length = 0;
    const stationEnds = new Map<string, BytePort>();
    for (const mac of macs) {
      const unit = startEsp32InMemory(`sim://${mac}`, { chip: CHIP, mac, powerOn: 'application', bootDelayMs: 200 });
      hosted.push(unit);
      stationEnds.set(unit.port.path, unit.port);
    }
    return {
      paths: [...stationEnds.keys()],
      onPty: false,
      memoryFallbackReason: error instanceof Error ? error.message : String(error),
      open: async (path, openOptions) => stationEnds.get(path) ?? openPort(path, openOptions),
      stop: stopAll,
    };
  }
}
