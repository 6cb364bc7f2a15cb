import { ConfigError } from '../errors.ts';
import { dataFolder } from './data-folder.ts';
import { Journal } from './journal.ts';
import { loadKeyFile, SecretBox } from './secret-box.ts';

/**
 * The journal of a data folder, opened to read (history, outbox list) while a
 * station may be writing to it; undefined when the folder has recorded
 * nothing yet. Creates no journal and no key.
 */
export async function readJournal(dir: string): Promise<Journal | undefined> {
  const folder = dataFolder(dir);
  const key = await loadKeyFile(dir);
  const journal = Journal.openExisting(folder.journal, new SecretBox(key ?? Buffer.alloc(32)));
  if (journal && !key) {
    journal.close();
    throw new ConfigError(`the data folder ${dir} has a journal but no key file (${folder.keyFile})`, {
      hint: 'Restore station.key from a backup; the secrets in the journal cannot be read without it.',
    });
  }
  return journal;
}
