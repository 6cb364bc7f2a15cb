import { createMemoryPortPair, type MemoryBytePort } from '../../ports/memory-port.ts';
import { hostOnPty, type PtyHosted } from '../simulator-hosts.ts';
import { Esp32Simulator, type Esp32SimulatorOptions } from './esp32-simulator.ts';

export interface HostedEsp32 {
  simulator: Esp32Simulator;
  /** Yanks the cable. */
  unplug(): void;
  stop(): Promise<void>;
}

export type PtyEsp32 = PtyHosted<Esp32Simulator>;

/**
 * A simulated ESP32 behind a real pty, for esptool, the station's serial code
 * and the pacing relay. A pty has no DTR/RTS, so the chip comes up in the
 * mode its options say (download by default, as if BOOT were held).
 */
export function startEsp32OnPty(options: Esp32SimulatorOptions, directory?: string, linkName = `esp-${options.mac.replace(/[:-]/g, '')}`): Promise<PtyEsp32> {
  return hostOnPty(linkName, directory, (port, unplug) => new Esp32Simulator(port, { ...options, hangUp: options.hangUp ?? unplug }));
}

export interface MemoryEsp32 extends HostedEsp32 {
  /** The station's end: its control calls are recorded and reach the chip's EN/IO0. */
  port: MemoryBytePort;
}

/** A simulated ESP32 on an in-memory pair, wired to the station's DTR/RTS through an auto-reset circuit. */
export function startEsp32InMemory(path: string, options: Esp32SimulatorOptions): MemoryEsp32 {
  const [station, device] = createMemoryPortPair(path);
  const unplug = () => void device.close();
  const simulator = new Esp32Simulator(device, { ...options, hangUp: options.hangUp ?? unplug, lineEvents: (listener) => device.onPeerControl(listener) });
  return {
    port: station,
    simulator,
    unplug,
    async stop() {
      await simulator.stop();
      await device.close();
    },
  };
}
