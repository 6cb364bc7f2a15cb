import type { PortCloseReason } from '../ports/byte-port.ts';
import type { TransferProgress } from '../transfer/progress.ts';
import type { FirmwareImage } from './firmware-image.ts';

export interface Credentials {
  thingId: string;
  apiKey: string;
}

export type { FirmwareImage } from './firmware-image.ts';

export interface BootReport {
  serial: string;
  /** undefined when the unit reports no firmware version. */
  version: string | undefined;
}

export interface StepOptions {
  signal?: AbortSignal;
}

export interface FlashOptions extends StepOptions {
  onProgress?: (progress: TransferProgress) => void;
}

/** What a driver can do: the engine skips or refuses steps a unit cannot take. */
export interface DriverCapabilities {
  readVersion: boolean;
  credentials: boolean;
  flash: boolean;
  reboot: boolean;
}

/**
 * The station's view of one unit on one port. The profile driver implements it
 * for text-command devices; native drivers (ESP32 ROM bootloader, STM32 system
 * bootloader) can implement the same interface later.
 */
export interface DeviceDriver {
  readonly port: string;
  readonly capabilities: DriverCapabilities;
  identify(options?: StepOptions): Promise<{ serial: string }>;
  readVersion(options?: StepOptions): Promise<string | undefined>;
  writeCredentials(credentials: Credentials, options?: StepOptions): Promise<void>;
  /** Resolves when the unit holds exactly these credentials; throws otherwise. */
  verifyCredentials(credentials: Credentials, options?: StepOptions): Promise<void>;
  /** Transfers the image and resolves once the unit confirms the hash it received. */
  flash(image: FirmwareImage, options?: FlashOptions): Promise<void>;
  /** Restarts the unit and resolves with what its boot banner reports. */
  reboot(options?: StepOptions): Promise<BootReport>;
  /**
   * The version a unit reports at boot after this image was flashed, when the
   * image says it itself (an ESP-IDF application's esp_app_desc_t version);
   * undefined when the unit reports the version id it was flashed with (the
   * reference protocol).
   */
  bootVersionOf?(image: FirmwareImage): string | undefined;
  /** Settles once the unit's port has ended: unplugged or hung up (`disconnected`, with its error), or closed by the station. */
  readonly portClosed: Promise<PortCloseReason>;
  close(): Promise<void>;
}
