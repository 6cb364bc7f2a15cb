import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../main/core/cloud/http.ts';
import { DEFAULT_MAX_FIRMWARE_BYTES } from '../../main/core/cloud/limits.ts';
import { formatBytes, formatDuration } from '../../main/core/format.ts';
import { lineConfigSchema } from '../../main/core/config/line-config.ts';

const now = Date.parse('2026-03-01T12:00:00Z');

describe('Retry-After', () => {
  it('is read in seconds or as an HTTP date', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('is capped at 10 minutes where it is read, however far it points (ten years, 2036)', () => {
    expect(parseRetryAfter(String(10 * 365 * 24 * 3600), now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Tue, 01 Jan 2036 00:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBe(600_000);
  });
});

describe('limits in messages', () => {
  it('durations print whole milliseconds, seconds or minutes, never fractions', () => {
    expect(formatDuration(0.4)).toBe('0 ms');
    expect(formatDuration(1234.567)).toBe('1235 ms');
    expect(formatDuration(9999.4)).toBe('9999 ms');
    expect(formatDuration(15_000)).toBe('15 s');
    expect(formatDuration(179_400)).toBe('179 s');
    expect(formatDuration(180_000)).toBe('3 min');
    expect(formatDuration(3_540_000)).toBe('59 min');
    expect(formatDuration(2_062_499.9)).toBe('34 min');
  });

  it('sizes print in bytes, KiB, MiB or GiB', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(256 * 1024)).toBe('256 KiB');
    expect(formatBytes(1.5 * 1024 * 1024)).toBe('1.5 MiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(formatBytes(1024 ** 3)).toBe('1 GiB');
  });
});

describe('maxFirmwareBytes in the line configuration', () => {
  const base = { cloud: { backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080' } };

  it('defaults to 64 MiB and takes a value in range', () => {
    expect(lineConfigSchema.parse(base).maxFirmwareBytes).toBe(DEFAULT_MAX_FIRMWARE_BYTES);
    expect(DEFAULT_MAX_FIRMWARE_BYTES).toBe(64 * 1024 * 1024);
    expect(lineConfigSchema.parse({ ...base, maxFirmwareBytes: 4 * 1024 * 1024 }).maxFirmwareBytes).toBe(4 * 1024 * 1024);
  });

  it('refuses a value out of range or not a whole number, naming the field', () => {
    for (const bad of [0, 100, 1.5e3 + 0.5, 1024 ** 3, '1M']) {
      const result = lineConfigSchema.safeParse({ ...base, maxFirmwareBytes: bad });
      expect(result.success).toBe(false);
      expect(result.error!.issues[0]!.path).toEqual(['maxFirmwareBytes']);
    }
  });
});
