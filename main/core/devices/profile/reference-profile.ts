import type { TextProfileInput } from './schema.ts';

/** The built-in profile for the reference device protocol (shared/specs/reference-device-protocol.md). */
export const REFERENCE_PROFILE: TextProfileInput = {
  name: 'reference',
  description: 'Reference device protocol v1: text commands at 115200 8N1, YMODEM firmware transfer.',
  serial: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 },
  lineEnding: '\n',
  maxLineLength: 256,
  responseTimeoutMs: 2000,
  serialNumberPattern: '^[A-Za-z0-9._:-]{1,64}$',
  errorPattern: '^ERR (?<code>[A-Z]+)(?: (?<text>.*))?$',
  commands: {
    readSerial: { send: 'SERIAL?', expect: '^SERIAL (?<serial>\\S+)$' },
    readVersion: { send: 'VERSION?', expect: '^VERSION (?<version>\\S+)$', noneValue: 'none' },
    writeCredentials: { send: 'CREDS SET {thingId} {apiKey}', expect: '^OK$' },
    verifyCredentials: {
      send: 'CREDS?',
      expect: '^CREDS (?<thingId>\\S+) (?<keyHash>[0-9a-f]{16})$',
      keyHash: { algorithm: 'sha256', hexChars: 16 },
    },
    flash: {
      send: 'FLASH {size} {sha256} {versionId}',
      expect: '^READY$',
      transfer: 'ymodem',
      fileName: 'firmware.bin',
      result: { expect: '^FLASHED (?<sha256>[0-9a-f]{64})$', timeoutMs: 30_000 },
      startTimeoutMs: 10_000,
    },
    reboot: { send: 'REBOOT', expect: '^OK$', banner: '^BOOT (?<serial>\\S+) (?<version>\\S+)$', bannerTimeoutMs: 15_000 },
  },
};

/**
 * The reference device with the windowed transfer (profiles/ymodem-window.md)
 * for units whose firmware receiver supports it: the same commands, and a
 * flash that streams instead of waiting for an ACK after every block.
 */
export const REFERENCE_WINDOW_PROFILE: TextProfileInput = {
  ...REFERENCE_PROFILE,
  name: 'reference-window',
  description: 'Reference device protocol v1 with the ymodem-window streaming transfer.',
  commands: { ...REFERENCE_PROFILE.commands, flash: { ...REFERENCE_PROFILE.commands.flash!, transfer: 'ymodem-window' } },
};
