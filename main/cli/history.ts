import { exportableAttempt, historyCsv } from '../core/storage/history-export.ts';
import { readJournal } from '../core/storage/read-journal.ts';
import { defaultDataDir, parseCommand } from './args.ts';

const HELP = `Usage: station history [--format csv|json] [--serial SN] [--limit N] [--demo] [--data-dir DIR]

Prints every recorded try of a unit (a retry is the unit's next attempt), newest
first. Credentials are never exported. --demo reads the demo line's history
(kept apart from the real line's, in the data folder's demo subfolder).`;

export async function historyCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand('history', argv, { format: { type: 'string' }, serial: { type: 'string' }, limit: { type: 'string' }, demo: { type: 'boolean' }, 'data-dir': { type: 'string' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as { format?: string; serial?: string; limit?: string; demo?: boolean; 'data-dir'?: string };
  const format = values.format ?? 'csv';
  const limit = Number(values.limit ?? 10_000);
  if ((format !== 'csv' && format !== 'json') || !Number.isInteger(limit) || limit < 1) {
    console.error(`station history: --format is csv or json, --limit a positive whole number\n\n${HELP}`);
    return 2;
  }
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const journal = await readJournal(dataDir, { demo: values.demo === true });
  if (!journal) {
    console.error(`station history: no units recorded ${values.demo ? 'by the demo line ' : ''}in ${dataDir} yet`);
    process.stdout.write(format === 'json' ? '[]\n' : historyCsv([]));
    return 0;
  }
  try {
    const attempts = journal.attempts({ ...(values.serial ? { serial: values.serial } : {}), limit });
    process.stdout.write(format === 'json' ? `${JSON.stringify(attempts.map(exportableAttempt), null, 2)}\n` : historyCsv(attempts));
    return 0;
  } finally {
    journal.close();
  }
}
