/**
 * The station's error model. Every failure a technician can see is a
 * StationError: a stable code, where it happened (port, unit, step), what
 * happened in plain words, and what to do about it. Secrets never go into
 * any of these fields.
 */

export interface ErrorWhere {
  /** The port as the user configured it, e.g. /dev/ttyACM0, COM3, tcp://10.0.0.5:4001. */
  port?: string;
  /** The unit's serial number, once known. */
  serial?: string;
  /** The pipeline step, e.g. "identify", "flash". */
  step?: string;
}

export interface StationErrorOptions {
  where?: ErrorWhere;
  /** What the technician or engineer should do next. */
  hint?: string;
  /** True when repeating the same action may succeed. */
  retryable?: boolean;
  cause?: unknown;
}

export class StationError extends Error {
  readonly code: string;
  readonly where: ErrorWhere;
  readonly hint: string | undefined;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: StationErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.where = { ...options.where };
    this.hint = options.hint;
    this.retryable = options.retryable ?? false;
  }

  /** Fills in where this happened (fields already known are kept) and returns the same error. */
  at(where: ErrorWhere): this {
    for (const key of ['port', 'serial', 'step'] as const) {
      if (this.where[key] === undefined && where[key] !== undefined) this.where[key] = where[key];
    }
    return this;
  }

  /** One line for a log or a tile: where, what, and what to do. */
  describe(): string {
    const place = describeWhere(this.where);
    const hint = this.hint ? ` ${this.hint}` : '';
    return `${place}${this.message}.${hint}`.replace(/\.\.(\s|$)/g, '.$1');
  }
}

export function describeWhere(where: ErrorWhere): string {
  const parts: string[] = [];
  if (where.port) parts.push(`port ${where.port}`);
  if (where.serial) parts.push(`unit ${where.serial}`);
  if (where.step) parts.push(`step ${where.step}`);
  return parts.length ? `${parts.join(', ')}: ` : '';
}

/** The device went away: unplugged, powered off, or the serial server dropped the link. */
export class PortDisconnectedError extends StationError {
  constructor(message: string, options: StationErrorOptions = {}) {
    super('PORT_DISCONNECTED', message, {
      hint: 'Check the cable and the unit\'s power, plug it in again, then retry.',
      retryable: true,
      ...options,
    });
  }
}

/** The port could not be opened. */
export class PortOpenError extends StationError {
  constructor(message: string, options: StationErrorOptions = {}) {
    super('PORT_OPEN_FAILED', message, { retryable: true, ...options });
  }
}

/** A wait ran out of time. */
export class TimeoutError extends StationError {
  constructor(message: string, options: StationErrorOptions = {}) {
    super('TIMEOUT', message, { retryable: true, ...options });
  }
}

/** The device sent something the protocol does not allow (over-long line, binary noise, wrong answer). */
export class ProtocolError extends StationError {
  constructor(message: string, options: StationErrorOptions = {}) {
    super('PROTOCOL', message, {
      hint: 'Check that the device profile matches this unit and that the baud rate is right.',
      retryable: true,
      ...options,
    });
  }
}

/** The device answered with an error of its own (ERR <CODE> <text> in the reference protocol). */
export class DeviceError extends StationError {
  readonly deviceCode: string;
  readonly deviceText: string;

  constructor(deviceCode: string, deviceText: string, options: StationErrorOptions = {}) {
    super(`DEVICE_${deviceCode}`, `the device answered error ${deviceCode}${deviceText ? `: ${deviceText}` : ''}`, {
      // Non-volatile memory failures are never retried blindly (reference protocol).
      retryable: deviceCode === 'BUSY',
      hint: deviceCode === 'STORAGE' ? 'The unit\'s memory failed: retry it once; if it fails again, set it aside for repair.' : undefined,
      ...options,
    });
    this.deviceCode = deviceCode;
    this.deviceText = deviceText;
  }
}

/** A firmware transfer failed (too many retries, aborted by the receiver, hash mismatch). */
export class TransferError extends StationError {
  constructor(message: string, options: StationErrorOptions = {}) {
    super('TRANSFER_FAILED', message, { retryable: true, ...options });
  }
}

/** The other side cancelled a transfer (two CANs). */
export class TransferAbortedError extends StationError {
  constructor(message: string, options: StationErrorOptions = {}) {
    super('TRANSFER_ABORTED', message, { retryable: true, ...options });
  }
}

/** A configuration file or device profile is invalid. */
export class ConfigError extends StationError {
  constructor(message: string, options: StationErrorOptions = {}) {
    super('CONFIG_INVALID', message, { retryable: false, ...options });
  }
}

/** The operation was cancelled by the operator or by shutdown. */
export class CancelledError extends StationError {
  constructor(message = 'cancelled', options: StationErrorOptions = {}) {
    super('CANCELLED', message, { retryable: true, ...options });
  }
}

export function isStationError(error: unknown): error is StationError {
  return error instanceof StationError;
}

/** Any failure in words for a person: a StationError with its place and hint, anything else by its message. */
export function describeError(error: unknown): string {
  return isStationError(error) ? error.describe() : error instanceof Error ? error.message : String(error);
}
