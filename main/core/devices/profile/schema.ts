import { z } from 'zod';
import { BLOCK_PROTOCOLS } from '../../transfer/transfer-types.ts';
import { patternSchema } from './safe-pattern.ts';

/**
 * A text device profile is data: how to talk to one kind of unit over a text
 * protocol. Vendors write these as JSON; this schema is the one place that
 * decides what a valid profile is.
 */

const pattern = patternSchema;

/** One pattern, or several lines awaited in order (e.g. "+SN:…" then "OK"). */
const expectation = z.union([pattern, z.array(pattern).min(1).max(8)]);

const commandFields = {
  /** The line sent, with {placeholders} for values. */
  send: z.string().min(1).max(200),
  expect: expectation,
  /** Overrides the profile's responseTimeoutMs for this command. */
  timeoutMs: z.number().int().min(10).max(600_000).optional(),
};

const command = z.object(commandFields).strict();

export const serialSettingsSchema = z
  .object({
    baudRate: z.number().int().min(50).max(16_000_000).default(115200),
    dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
    parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).default('none'),
    stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1),
  })
  .strict();


export const textProfileSchema = z
  .object({
    /** The driver kind: "text" (this schema) unless the profile names another ("esp32"). */
    driver: z.literal('text').default('text'),
    name: z.string().min(1).max(64),
    description: z.string().max(500).optional(),
    serial: serialSettingsSchema.default({ baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 }),
    lineEnding: z.enum(['\n', '\r\n', '\r']).default('\n'),
    maxLineLength: z.number().int().min(16).max(4096).default(256),
    responseTimeoutMs: z.number().int().min(10).max(600_000).default(2000),
    /** What a valid serial number looks like; units that report anything else are refused. */
    serialNumberPattern: pattern.default('^[A-Za-z0-9._:-]{1,64}$'),
    /** A device's own error answer; named groups `code` and `text` are reported to the operator. */
    errorPattern: pattern.default('^ERR (?<code>[A-Z]+)(?: (?<text>.*))?$'),
    commands: z
      .object({
        readSerial: command,
        readVersion: z.object({ ...commandFields, noneValue: z.string().max(64).optional() }).strict().optional(),
        writeCredentials: command.optional(),
        verifyCredentials: z
          .object({
            ...commandFields,
            /** How the device proves it holds the key without sending it back. */
            keyHash: z.object({ algorithm: z.literal('sha256'), hexChars: z.number().int().min(8).max(64) }).strict().optional(),
          })
          .strict()
          .optional(),
        flash: z
          .object({
            ...commandFields,
            transfer: z.enum(BLOCK_PROTOCOLS),
            fileName: z.string().min(1).max(100).regex(/^[^\s\0/]+$/).default('firmware.bin'),
            /** The line that reports the result after the transfer. */
            result: z.object({ expect: expectation, timeoutMs: z.number().int().min(10).max(600_000).default(30_000) }).strict(),
            /** How long the device may take to start the transfer after accepting the command. */
            startTimeoutMs: z.number().int().min(10).max(600_000).default(10_000),
            /** How long the station waits for each block's acknowledgement before sending it again (default: 10000 stop-and-wait, 3000 ymodem-window). */
            blockTimeoutMs: z.number().int().min(50).max(600_000).optional(),
            /** Sends of one block (or of the end of the file) before the flash fails. */
            maxAttempts: z.number().int().min(1).max(100).default(10),
          })
          .strict()
          .optional(),
        reboot: z
          .object({
            ...commandFields,
            /** The boot banner that says the unit is back, with groups `serial` and `version`. */
            banner: pattern,
            bannerTimeoutMs: z.number().int().min(10).max(600_000).default(15_000),
          })
          .strict()
          .optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine((profile, context) => {
    const requireGroups = (path: (string | number)[], expect: string | string[], groups: string[]) => {
      const sources = Array.isArray(expect) ? expect.join('\n') : expect;
      for (const group of groups) {
        if (!sources.includes(`(?<${group}>`)) {
          context.addIssue({ code: 'custom', path, message: `needs a named group (?<${group}>…)` });
        }
      }
    };
    const requirePlaceholders = (path: (string | number)[], send: string, allowed: string[], required: string[]) => {
      for (const [, name] of send.matchAll(/\{(\w+)\}/g)) {
        if (!allowed.includes(name!)) {
          context.addIssue({ code: 'custom', path, message: `unknown placeholder {${name}}; use ${allowed.map((a) => `{${a}}`).join(', ') || 'none'}` });
        }
      }
      for (const name of required) {
        if (!send.includes(`{${name}}`)) context.addIssue({ code: 'custom', path, message: `must contain {${name}}` });
      }
    };
    const { commands } = profile;
    requireGroups(['commands', 'readSerial', 'expect'], commands.readSerial.expect, ['serial']);
    requirePlaceholders(['commands', 'readSerial', 'send'], commands.readSerial.send, [], []);
    if (commands.readVersion) {
      requireGroups(['commands', 'readVersion', 'expect'], commands.readVersion.expect, ['version']);
      requirePlaceholders(['commands', 'readVersion', 'send'], commands.readVersion.send, [], []);
    }
    if (commands.writeCredentials) {
      requirePlaceholders(['commands', 'writeCredentials', 'send'], commands.writeCredentials.send, ['thingId', 'apiKey'], ['apiKey']);
    }
    if (commands.verifyCredentials) {
      requirePlaceholders(['commands', 'verifyCredentials', 'send'], commands.verifyCredentials.send, ['thingId'], []);
      requireGroups(['commands', 'verifyCredentials', 'expect'], commands.verifyCredentials.expect, [
        'thingId',
        ...(commands.verifyCredentials.keyHash ? ['keyHash'] : []),
      ]);
    }
    if (commands.flash) {
      requirePlaceholders(['commands', 'flash', 'send'], commands.flash.send, ['size', 'sha256', 'versionId'], ['size']);
      requireGroups(['commands', 'flash', 'result', 'expect'], commands.flash.result.expect, ['sha256']);
    }
    if (commands.reboot) {
      requirePlaceholders(['commands', 'reboot', 'send'], commands.reboot.send, [], []);
      requireGroups(['commands', 'reboot', 'banner'], commands.reboot.banner, ['serial']);
    }
  });

export type TextProfile = z.output<typeof textProfileSchema>;
export type TextProfileInput = z.input<typeof textProfileSchema>;
