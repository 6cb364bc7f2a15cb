import type { UnitRecord } from './journal.ts';

/** What a history export holds of each unit; credentials are never among them. */
export const HISTORY_COLUMNS = ['id', 'serial', 'port', 'result', 'failedStep', 'error', 'thingId', 'versionId', 'credentialsState', 'startedAt', 'finishedAt'] as const;

function timeOrValue(column: string, value: unknown): unknown {
  if (value === undefined) return null;
  return (column === 'startedAt' || column === 'finishedAt') && typeof value === 'number' ? new Date(value).toISOString() : value;
}

export function exportableUnit(unit: UnitRecord): Record<string, unknown> {
  return Object.fromEntries(HISTORY_COLUMNS.map((column) => [column, timeOrValue(column, unit[column])]));
}

/** RFC 4180 CSV; cells that a spreadsheet would run as a formula are prefixed with '. */
export function historyCsv(units: UnitRecord[]): string {
  const cell = (value: unknown) => {
    let text = value === null || value === undefined ? '' : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const rows = units.map((unit) => HISTORY_COLUMNS.map((column) => cell(timeOrValue(column, unit[column]))).join(','));
  return `${[HISTORY_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}
