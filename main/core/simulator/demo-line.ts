import { demoSerials } from '../cloud/emulators/demo-serials.ts';
import { DEMO_GADGETKEEPER_SEED, startGadgetKeeperEmulator } from '../cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../config/line-config.ts';
import { referenceProfile } from '../devices/profile/load-profile.ts';
import type { BytePort } from '../ports/byte-port.ts';
import { createMemoryPortPair } from '../ports/memory-port.ts';
import { openPort } from '../ports/open-port.ts';
import type { DemoLine, DemoLineOptions } from './demo-line-types.ts';
import { DeviceSimulator, type SimulatorOptions } from './device-simulator.ts';
import { startEsp32DemoLine } from './esp32/esp32-demo-line.ts';
import { startSimulatorOnPty, type PtySimulator } from './simulator-hosts.ts';

export type { DemoKind, DemoLine, DemoLineOptions } from './demo-line-types.ts';
export { DEMO_KINDS } from './demo-line-types.ts';

export async function startDemoLine(options: DemoLineOptions): Promise<DemoLine> {
  if (options.kind === 'esp32') return startEsp32DemoLine(options);
  const emulator = await startGadgetKeeperEmulator(DEMO_GADGETKEEPER_SEED);
  const flaky = new Set(options.flakyUnits ?? []);
  const units = await simulatedUnits(
    demoSerials(options.ports).map((serial, index): SimulatorOptions => ({
      serial,
      version: undefined,
      bootDelayMs: 300,
      noiseIntervalMs: 1500,
      ...(flaky.has(index) ? { faults: { refuseCredentials: 1 } } : {}),
    })),
  ).catch(async (error: unknown) => {
    await emulator.stop();
    throw error;
  });
  const config = lineConfigSchema.parse({
    cloud: { backend: 'gadgetkeeper', url: emulator.url },
    ports: units.paths,
    thingNameTemplate: 'ThermometerDevice-{serial}',
    ...(options.labels ? { labels: options.labels } : {}),
  });
  return {
    ...units,
    config,
    profile: referenceProfile,
    cloudUrl: emulator.url,
    stop: async () => {
      await units.stop();
      await emulator.stop();
    },
  };
}

type SimulatedUnits = Pick<DemoLine, 'paths' | 'onPty' | 'memoryFallbackReason' | 'open' | 'stop'>;

/** Simulated units on ptys through the real serial code, or in memory where socat is missing. */
async function simulatedUnits(units: SimulatorOptions[]): Promise<SimulatedUnits> {
  const sims: PtySimulator[] = [];
  try {
    for (const unit of units) sims.push(await startSimulatorOnPty(unit));
    return { paths: sims.map((sim) => sim.path), onPty: true, open: openPort, stop: async () => void (await Promise.all(sims.map((sim) => sim.stop()))) };
  } catch (error) {
    await Promise.all(sims.map((sim) => sim.stop()));
    const stationEnds = new Map<string, BytePort>();
    const memorySims: DeviceSimulator[] = [];
    for (const unit of units) {
      const [station, device] = createMemoryPortPair(`sim://${unit.serial}`);
      stationEnds.set(station.path, station);
      memorySims.push(new DeviceSimulator(device, unit));
    }
    return {
      paths: [...stationEnds.keys()],
      onPty: false,
      memoryFallbackReason: error instanceof Error ? error.message : String(error),
      open: async (path, options) => stationEnds.get(path) ?? openPort(path, options),
      stop: async () => void (await Promise.all(memorySims.map((sim) => sim.stop()))),
    };
  }
}
