import type { AttemptRecord } from './journal.ts';

/**
 * What a history export holds of each try of a unit; credentials are never
 * among them. The traceability columns (who, which station, which
 * configuration by its hash with secrets left out, which firmware by its
 * SHA-256) and the label's state come last; they are empty for tries
 * recorded before the station kept them.
 */
export const HISTORY_COLUMNS = [
  'id',
  'unitId',
  'attempt',
  'serial',
  'port',
  'slot',
  'result',
  'failedStep',
  'error',
  'thingId',
  'versionId',
  'credentialsState',
  'startedAt',
  'finishedAt',
  'seconds',
  'operator',
  'stationId',
  'configHash',
  'firmwareSha256',
  'label',
  'labelProblem',
] as const;
type Column = (typeof HISTORY_COLUMNS)[number];

function valueOf(attempt: AttemptRecord, column: Column): unknown {
  switch (column) {
    case 'attempt':
      return attempt.number;
    case 'startedAt':
      return new Date(attempt.startedAt).toISOString();
    case 'finishedAt':
      return attempt.finishedAt === undefined ? null : new Date(attempt.finishedAt).toISOString();
    case 'seconds':
      return attempt.finishedAt === undefined ? null : Math.round((attempt.finishedAt - attempt.startedAt) / 100) / 10;
    case 'label':
      return labelState(attempt) ?? null;
    default:
      return attempt[column] ?? null;
  }
}

/** Whether the attempt's label was printed: undefined when it was given none. */
export function labelState(attempt: AttemptRecord): 'printed' | 'not printed' | undefined {
  if (attempt.label === undefined) return undefined;
  return attempt.labelProblem === undefined ? 'printed' : 'not printed';
}

export function exportableAttempt(attempt: AttemptRecord): Record<string, unknown> {
  return Object.fromEntries(HISTORY_COLUMNS.map((column) => [column, valueOf(attempt, column)]));
}

/** RFC 4180 CSV; cells that a spreadsheet would run as a formula are prefixed with '. */
export function historyCsv(attempts: AttemptRecord[]): string {
  const cell = (value: unknown) => {
    let text = value === null || value === undefined ? '' : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const rows = attempts.map((attempt) => HISTORY_COLUMNS.map((column) => cell(valueOf(attempt, column))).join(','));
  return `${[HISTORY_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}
