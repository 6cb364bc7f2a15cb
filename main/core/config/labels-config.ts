import { z } from 'zod';
import { patternWithGroup } from '../devices/profile/safe-pattern.ts';
import { CUPS_QUEUE_NAME } from '../labels/label-printer.ts';
import { DEFAULT_LABEL_TEMPLATE, labelTemplateProblems } from '../labels/label-template.ts';

/** The serial number inside a scanned label. */
const serialPattern = patternWithGroup('serial');

const template = z.string().min(1).max(16_384).superRefine((text, context) => {
  for (const problem of labelTemplateProblems(text)) context.addIssue({ code: 'custom', message: problem });
});

const printerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tcp'), host: z.string().min(1).max(253), port: z.number().int().min(1).max(65535).default(9100) }).strict(),
  z.object({ kind: z.literal('cups'), queue: z.string().regex(CUPS_QUEUE_NAME, 'must be a CUPS queue name (letters, digits, _ . -, starting with a letter, digit or _)') }).strict(),
]);

/**
 * Labels on the line: check the label each unit carries against the serial
 * number it reports, and print a label for each unit that passed.
 */
export const labelsConfigSchema = z
  .object({
    check: z
      .object({
        /** The serial number inside what is scanned (a URL in a QR code…); the whole scan when absent. */
        pattern: serialPattern.optional(),
        /** How long a unit waits for its label to be scanned. */
        timeoutSeconds: z.number().int().min(1).max(3600).default(120),
      })
      .strict()
      .optional(),
    print: z
      .object({
        printer: printerSchema,
        /** ZPL with {serial}, {thingId}, {versionId}, {date}, {slot}, {operator}; a 2×1 inch label with Code 128 and QR by default. */
        template: template.default(DEFAULT_LABEL_TEMPLATE),
        /** A printer that does not take a label in this long is given up on (the unit still passes). */
        timeoutSeconds: z.number().int().min(1).max(120).default(10),
      })
      .strict()
      .optional(),
  })
  .strict();

export type LabelsConfig = z.output<typeof labelsConfigSchema>;
/** Labels as written in a configuration (defaults not yet filled in). */
export type LabelsInput = z.input<typeof labelsConfigSchema>;
