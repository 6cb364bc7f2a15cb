import { ConfigError } from '../errors.ts';

/** What a label template may print, each as {name}. */
export const LABEL_PLACEHOLDERS = ['serial', 'thingId', 'versionId', 'date', 'slot', 'operator'] as const;
export type LabelPlaceholder = (typeof LABEL_PLACEHOLDERS)[number];
export type LabelValues = Partial<Record<LabelPlaceholder, string>>;

/**
 * ZPL commands that change which characters start a command or separate its
 * parameters. Values are made safe by dropping ^ and ~ (zplText); after one of
 * these, some other character a serial number or an operator's name may hold
 * would start printer commands instead.
 */
const SYNTAX_CHANGING_COMMANDS: Readonly<Record<string, string>> = {
  CC: 'changes the format prefix (^)',
  CT: 'changes the control prefix (~)',
  CD: 'changes the parameter delimiter (,)',
};

/**
 * The problems of a ZPL template in words (empty when it is fine): it must be
 * one label, name only known placeholders, and keep ZPL's own prefixes so a
 * value stays text.
 */
export function labelTemplateProblems(template: string): string[] {
  const problems: string[] = [];
  const trimmed = template.trim();
  if (!/^\^XA/i.test(trimmed) || !/\^XZ$/i.test(trimmed)) problems.push('must be one ZPL label, from ^XA to ^XZ');
  for (const [, name] of trimmed.matchAll(/\{(\w+)\}/g)) {
    if (!(LABEL_PLACEHOLDERS as readonly string[]).includes(name!)) problems.push(`unknown placeholder {${name}}; use ${LABEL_PLACEHOLDERS.map((known) => `{${known}}`).join(', ')}`);
  }
  problems.push(...commandSyntaxProblems(trimmed));
  return problems;
}

/** Commands that would let a value's characters act as commands: see SYNTAX_CHANGING_COMMANDS, and a placeholder inside a command's name. */
function commandSyntaxProblems(template: string): string[] {
  // The printer ignores line breaks, so "^C\nC" is ^CC: look at the template as it reads it.
  const asPrinted = template.replace(/[\r\n]/g, '');
  const problems: string[] = [];
  for (const command of new Set(Array.from(asPrinted.matchAll(/[\^~]C[CDT]/gi), ([found]) => found.toUpperCase()))) {
    problems.push(
      `${command} ${SYNTAX_CHANGING_COMMANDS[command.slice(1)]}, after which characters in a unit's or operator's values could act as printer commands; remove ${command}: labels are printed with ZPL's default ^ and ~ prefixes and , delimiter`,
    );
  }
  for (const [found] of asPrinted.matchAll(/[\^~][^\^~{]?\{\w+\}/g)) {
    problems.push(`${found} puts a value where a command's name goes, so the value would choose the command; put placeholders only in field data (^FD{serial}^FS)`);
  }
  return problems;
}

/**
 * The label for one unit: the template with its placeholders filled. A value
 * is printed as text: the characters that start ZPL commands (^ and ~) and
 * control characters are dropped, so an operator's name or a serial number
 * cannot change the label's layout or send commands to the printer.
 */
export function renderLabel(template: string, values: LabelValues): string {
  const problems = labelTemplateProblems(template);
  if (problems.length > 0) throw new ConfigError(`the label template is invalid: ${problems.join('; ')}`, { hint: 'Fix labels.print.template in the line configuration.' });
  return template.trim().replace(/\{(\w+)\}/g, (_, name: LabelPlaceholder) => zplText(values[name] ?? ''));
}

/** Field data as plain text for ^FD…^FS. */
export function zplText(value: string): string {
  return value.replace(/[\^~\x00-\x1f\x7f]/g, '');
}

/** A sample label's values, for `station print-test` and the preview in Settings. */
export function sampleLabelValues(now = new Date()): Required<LabelValues> {
  return {
    serial: 'THERM00000000000042',
    thingId: '0123456789abcdef0123456789abcdef',
    versionId: 'fedcba9876543210fedcba9876543210',
    date: now.toISOString().slice(0, 10),
    slot: 'A1',
    operator: 'Sample Operator',
  };
}

/**
 * A label that fits a 2×1 inch thermal label at 203 dpi (406×203 dots): the
 * serial as text and as Code 128 across the top, the firmware, the cloud's id
 * for the unit, the date, slot and operator below, and a QR code of the
 * serial in the corner; nothing overlaps (the preview in Settings shows it).
 */
export const DEFAULT_LABEL_TEMPLATE = [
  '^XA',
  '^CI28',
  '^FO20,12^A0N,26,26^FDSN {serial}^FS',
  '^FO20,44^BY2^BCN,50,N,N,N^FD{serial}^FS',
  '^FO20,104^A0N,18,14^FDFW {versionId}^FS',
  '^FO20,128^A0N,18,14^FDID {thingId}^FS',
  '^FO20,152^A0N,18,14^FD{date} {slot} {operator}^FS',
  '^FO300,100^BQN,2,3^FDQA,{serial}^FS',
  '^XZ',
].join('\n');
