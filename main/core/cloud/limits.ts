/**
 * How long a cloud call may take and how large an answer may be. A cloud that
 * answers forever, drips, or announces a huge image must end in a clear error
 * within these bounds, never exhaust the station's memory or stall a port.
 */
export interface CloudLimits {
  /** One API call, from sending it to the last byte of its answer (a deadline over the whole call, not an idle timer). */
  timeoutMs: number;
  /** The largest API answer (JSON, a CIK, a content list); firmware has its own limit. */
  maxResponseBytes: number;
  /** The largest firmware image, whichever backend sends it, and the largest pinned firmware file. */
  maxFirmwareBytes: number;
  /** A download that receives no byte for this long has stalled. */
  downloadStallMs: number;
  /** A pessimistic lowest average rate: a download's deadline is timeoutMs plus its announced size at this rate. */
  downloadMinBytesPerSecond: number;
}

/** The one default for every backend and pinned files (line configuration: maxFirmwareBytes). */
export const DEFAULT_MAX_FIRMWARE_BYTES = 64 * 1024 * 1024;

/** Defaults for a factory: API answers are a few hundred bytes, images a few MiB over a slow but live link. */
export const DEFAULT_CLOUD_LIMITS: Readonly<CloudLimits> = Object.freeze({
  timeoutMs: 15_000,
  maxResponseBytes: 256 * 1024,
  maxFirmwareBytes: DEFAULT_MAX_FIRMWARE_BYTES,
  downloadStallMs: 20_000,
  downloadMinBytesPerSecond: 32 * 1024,
});

/** The defaults with whatever the settings give. */
export function cloudLimits(settings: Partial<CloudLimits>): CloudLimits {
  const limits = { ...DEFAULT_CLOUD_LIMITS };
  for (const key of Object.keys(limits) as (keyof CloudLimits)[]) {
    const value = settings[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

/** How long a download of `bytes` may take in all: the answer must start within timeoutMs, then keep the minimum rate. */
export function downloadDeadlineMs(limits: CloudLimits, bytes: number): number {
  return limits.timeoutMs + Math.ceil((bytes * 1000) / limits.downloadMinBytesPerSecond);
}

