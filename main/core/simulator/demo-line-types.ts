import type { LabelsInput } from '../config/labels-config.ts';
import type { LineConfig } from '../config/line-config.ts';
import type { DeviceProfile } from '../devices/device-profile.ts';
import type { openPort } from '../ports/open-port.ts';

export interface DemoLineOptions {
  ports: number;
  /** The units' kind: reference-protocol thermometers (default) or blank ESP32-S3 chips flashed through their ROM bootloader. */
  kind?: DemoKind;
  /** Units (by index) whose flash chip refuses the credentials once, so a retry passes: the demo of a failure. */
  flakyUnits?: number[];
  /** Label check and printing on the demo line (reference units), as in a line configuration. */
  labels?: LabelsInput;
}

export const DEMO_KINDS = ['reference', 'esp32'] as const;
export type DemoKind = (typeof DEMO_KINDS)[number];

/** A whole line without hardware or a cloud account: a local GadgetKeeper emulator and simulated units. */
export interface DemoLine {
  config: LineConfig;
  /** The device profile the units speak. */
  profile: DeviceProfile;
  cloudUrl: string;
  /** The units' port paths. */
  paths: string[];
  /** True when the units sit on pseudo-terminals (through the real serial code); false when in memory. */
  onPty: boolean;
  /** When the units fell back to memory: why the ptys could not be made (socat missing or failing). Screens and the CLI say so. */
  memoryFallbackReason?: string;
  open: typeof openPort;
  stop(): Promise<void>;
}
