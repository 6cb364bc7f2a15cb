import { lineConfigSchema, loadLineConfig, type LineConfig } from '../core/config/line-config.ts';
import { LINE_CONFIG_SETTING, Station } from '../core/engine/station.ts';
import { ConfigError } from '../core/errors.ts';
import type { OutboxEntry } from '../core/storage/journal.ts';
import { readJournal } from '../core/storage/read-journal.ts';
import { parseOrThrow } from '../core/validation.ts';
import { defaultDataDir, parseCommand } from './args.ts';
import { EXIT_PENDING } from './run.ts';

const HELP = `Usage: station outbox list [--json] [--data-dir DIR]
       station outbox replay [--json] [--data-dir DIR] [--config FILE]

list     the cloud calls waiting (or failed) in the outbox
replay   replay every due call now, then list what is left; the cloud is the
         one the station last ran with, unless --config names another

Exit status of replay: 0 when nothing is left waiting, 3 when calls still wait
for the cloud (they replay by themselves while a station runs).`;

export async function outboxCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const parsed = parseCommand('outbox', action === '--help' || action === '-h' ? [action] : rest, { json: { type: 'boolean' }, 'data-dir': { type: 'string' }, config: { type: 'string' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as { json?: boolean; 'data-dir'?: string; config?: string };
  if (action !== 'list' && action !== 'replay') {
    console.error(`station outbox: say list or replay\n\n${HELP}`);
    return 2;
  }
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const print = (readPage: OutboxPageReader | undefined) => printOutbox(readPage, values.json === true);
  if (action === 'list') {
    const journal = await readJournal(dataDir);
    // Said, as history says it: a mistyped --data-dir is not quietly an empty outbox.
    if (!journal) console.error(`station outbox: no station has recorded anything in ${dataDir} yet`);
    try {
      print(journal && ((page) => journal.outboxEntries(page)));
      return 0;
    } finally {
      journal?.close();
    }
  }
  const config = values.config ? await loadLineConfig(values.config) : await lastConfig(dataDir);
  const station = await Station.open({ config, dataDir, autoReplay: false });
  try {
    const done = await station.replayOutboxNow();
    if (!values.json) console.log(`replayed ${done} call(s)`);
    print((page) => station.outboxEntries(page));
    return station.outboxWaiting() > 0 ? EXIT_PENDING : 0;
  } finally {
    await station.close();
  }
}

/** Entries read from the journal at a time: a backlog of any size is listed whole, in bounded memory. */
const PAGE_SIZE = 1000;

/** One page of the calls not yet done, after the id `afterId`, at most `limit` of them. */
type OutboxPageReader = (page: { afterId: number; limit: number }) => OutboxEntry[];

/** Prints every call not yet done, oldest first, a page at a time. */
function printOutbox(readPage: OutboxPageReader | undefined, json: boolean): void {
  let printed = 0;
  for (let afterId = 0; readPage; ) {
    const page = readPage({ afterId, limit: PAGE_SIZE });
    if (page.length === 0) break;
    for (const entry of page) console.log(json ? JSON.stringify(publicView(entry)) : describe(entry));
    printed += page.length;
    afterId = page.at(-1)!.id;
  }
  if (printed === 0 && !json) console.log('the outbox is empty');
}

async function lastConfig(dataDir: string): Promise<LineConfig> {
  const journal = await readJournal(dataDir);
  try {
    const stored = journal?.secretSetting(LINE_CONFIG_SETTING);
    if (!stored) throw new ConfigError(`the station in ${dataDir} has never run, so it knows no cloud to replay against`, { hint: 'Pass --config FILE.' });
    return parseOrThrow(lineConfigSchema, JSON.parse(stored), 'the stored line configuration');
  } finally {
    journal?.close();
  }
}

/** What may be shown of a queued call: where it stands, never its payload. */
function publicView(entry: OutboxEntry): Record<string, unknown> {
  return { id: entry.id, serial: entry.serial, call: entry.call, state: entry.state, attempts: entry.attempts, nextAttemptAt: new Date(entry.nextAttemptAt).toISOString(), lastError: entry.lastError ?? null };
}

function describe(entry: OutboxEntry): string {
  const when = entry.state === 'pending' ? ` next try ${new Date(entry.nextAttemptAt).toISOString()}` : '';
  return `#${entry.id} ${entry.serial} ${entry.call} ${entry.state} (attempts ${entry.attempts})${when}${entry.lastError ? ` — ${entry.lastError}` : ''}`;
}
