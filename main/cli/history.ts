import { join } from 'node:path';
import { Journal, type UnitRecord } from '../core/storage/journal.ts';
import { loadOrCreateKeyFile, SecretBox } from '../core/storage/secret-box.ts';
import { defaultDataDir, parseCommand } from './args.ts';

const HELP = `Usage: station history [--format csv|json] [--serial SN] [--limit N] [--data-dir DIR]

Prints the recorded units, newest first. Credentials are never exported.`;

const COLUMNS = ['id', 'serial', 'port', 'result', 'failedStep', 'error', 'thingId', 'versionId', 'credentialsState', 'startedAt', 'finishedAt'] as const;

export async function historyCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand('history', argv, { format: { type: 'string' }, serial: { type: 'string' }, limit: { type: 'string' }, 'data-dir': { type: 'string' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as { format?: string; serial?: string; limit?: string; 'data-dir'?: string };
  const format = values.format ?? 'csv';
  const limit = Number(values.limit ?? 10_000);
  if ((format !== 'csv' && format !== 'json') || !Number.isInteger(limit) || limit < 1) {
    console.error(`station history: --format is csv or json, --limit a positive whole number\n\n${HELP}`);
    return 2;
  }
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const journal = Journal.open(join(dataDir, 'journal.sqlite'), new SecretBox(await loadOrCreateKeyFile(dataDir)));
  try {
    const units = journal.units({ serial: values.serial, limit });
    process.stdout.write(format === 'json' ? `${JSON.stringify(units.map(exportable), null, 2)}\n` : toCsv(units));
    return 0;
  } finally {
    journal.close();
  }
}

function exportable(unit: UnitRecord): Record<string, unknown> {
  return Object.fromEntries(COLUMNS.map((column) => [column, timeOrValue(column, unit[column])]));
}

function timeOrValue(column: string, value: unknown): unknown {
  if (value === undefined) return null;
  return (column === 'startedAt' || column === 'finishedAt') && typeof value === 'number' ? new Date(value).toISOString() : value;
}

/** RFC 4180 CSV; cells that a spreadsheet would run as a formula are prefixed with '. */
export function toCsv(units: UnitRecord[]): string {
  const cell = (value: unknown) => {
    let text = value === null || value === undefined ? '' : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const rows = units.map((unit) => COLUMNS.map((column) => cell(timeOrValue(column, unit[column]))).join(','));
  return `${[COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}
