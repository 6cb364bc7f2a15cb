import type { PortDisconnectedError } from '../errors.ts';
import type { LineControl } from './line-control.ts';

/** Why a port stopped being usable. */
export type PortCloseReason =
  | { kind: 'closed' }
  | { kind: 'disconnected'; error: PortDisconnectedError };

/**
 * The seam between the station and a physical link: a serial port, a raw-TCP
 * serial device server, or an in-process simulator. Everything above this
 * (drivers, transfers) sees only bytes in, bytes out, and "it went away".
 */
export interface BytePort {
  /** The port as configured: /dev/ttyACM0, COM3, tcp://host:port, sim://name. */
  readonly path: string;
  readonly isOpen: boolean;
  /**
   * Resolves once the bytes were handed to the OS. Rejects with a
   * PortDisconnectedError when the port is gone, or a TimeoutError (and closes
   * the port) when the device stops taking data.
   */
  write(data: Uint8Array, options?: { timeoutMs?: number }): Promise<void>;
  /** Subscribe to incoming bytes; returns the unsubscribe function. */
  onData(listener: (chunk: Buffer) => void): () => void;
  /** Settles exactly once, when the port stops being usable. Never rejects. */
  readonly closed: Promise<PortCloseReason>;
  /** Close on purpose. Safe to call twice or after a disconnect. */
  close(): Promise<void>;
  /**
   * Modem lines (DTR/RTS/break) and the baud rate, where the link has them:
   * serial ports do, raw-TCP servers refuse with LineControlUnsupportedError,
   * in-memory ports record every call. Text-protocol drivers never need it.
   */
  readonly control?: LineControl;
}

/** Serial line settings from a device profile. */
export interface SerialSettings {
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits: 1 | 1.5 | 2;
}

export const DEFAULT_SERIAL_SETTINGS: SerialSettings = { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 };

/** A write must not wait forever: twice the wire time at this baud rate, plus slack for USB latency. */
export function writeTimeoutFor(byteCount: number, baudRate: number): number {
  const wireMs = (byteCount * 10 * 1000) / baudRate;
  return Math.ceil(2 * wireMs + 2000);
}
