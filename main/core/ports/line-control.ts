import { StationError, type StationErrorOptions } from '../errors.ts';

/**
 * The modem lines a host drives on a serial port. On ESP32 boards DTR and RTS
 * reach the chip's IO0 and EN pins through the auto-reset circuit, so these
 * lines reset the chip and choose its boot mode.
 */
export interface LineSignals {
  dtr: boolean;
  rts: boolean;
  /** A break condition (the line held low). */
  brk: boolean;
}

/**
 * Optional control of the line under a BytePort: modem lines and the baud rate
 * of the open port. Ports that cannot (raw-TCP servers, pseudo-terminals) say
 * so with a LineControlUnsupportedError instead of pretending.
 */
export interface LineControl {
  /** Sets the named lines; lines not named keep their current state. */
  setSignals(signals: Partial<LineSignals>): Promise<void>;
  /** Changes the baud rate without closing the port. */
  setBaudRate(baudRate: number): Promise<void>;
}

/** One call made on a line's control, as an in-memory port records it. */
export type LineControlEvent =
  | ({ type: 'signals'; atMs: number } & LineSignals)
  | { type: 'baud'; atMs: number; baudRate: number };

/** The port has no such control: a raw-TCP serial server, or a pseudo-terminal without modem lines. */
export class LineControlUnsupportedError extends StationError {
  constructor(message: string, options: StationErrorOptions = {}) {
    super('LINE_CONTROL_UNSUPPORTED', message, { retryable: false, ...options });
  }
}

/** A control call the port should have taken failed (the device went away, the driver refused the rate). */
export class LineControlError extends StationError {
  constructor(message: string, options: StationErrorOptions = {}) {
    super('LINE_CONTROL_FAILED', message, { retryable: true, ...options });
  }
}

/** The lines as a freshly opened serial port leaves them: the OS asserts DTR and RTS on open. */
export const OPEN_PORT_SIGNALS: LineSignals = { dtr: true, rts: true, brk: false };

/** Baud rates a UART bridge can be asked for; anything else is a configuration mistake. */
export function checkBaudRate(baudRate: number, port: string): void {
  if (!Number.isInteger(baudRate) || baudRate < 300 || baudRate > 12_000_000) {
    throw new LineControlError(`${baudRate} is not a usable baud rate`, { where: { port }, retryable: false });
  }
}
