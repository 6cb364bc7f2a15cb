import type { BytePort, SerialSettings } from './byte-port.ts';
import { DEFAULT_SERIAL_SETTINGS } from './byte-port.ts';
import type { SerialBinding } from './serial-port.ts';
import { openSerialPort } from './serial-port.ts';
import { openTcpPort } from './tcp-port.ts';

export interface OpenPortOptions {
  settings?: SerialSettings;
  binding?: SerialBinding;
  openTimeoutMs?: number;
  /** The device node to open, where the path as named is a link already followed and checked (`policedOpen`); the port keeps `path` as its name. */
  devicePath?: string;
}

/** Opens whatever a port path names: tcp://host:port for serial device servers, else a local serial port. */
export function openPort(path: string, options: OpenPortOptions = {}): Promise<BytePort> {
  if (path.startsWith('tcp://')) return openTcpPort(path, { connectTimeoutMs: options.openTimeoutMs });
  return openSerialPort(path, {
    settings: options.settings ?? DEFAULT_SERIAL_SETTINGS,
    binding: options.binding,
    openTimeoutMs: options.openTimeoutMs,
    devicePath: options.devicePath,
  });
}
