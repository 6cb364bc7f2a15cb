import { basename, dirname } from 'node:path';
import { ConfigError } from '../errors.ts';
import { dataFolder } from './data-folder.ts';
import { Journal } from './journal.ts';
import { loadKeyFile, SecretBox } from './secret-box.ts';

/**
 * The journal of a data folder, opened to read (history, outbox list) while a
 * station may be writing to it, or with `demo` the demo line's (its own
 * journal in the folder's demo subfolder, sealed with the folder's key);
 * undefined when nothing is recorded there yet. Creates no journal and no key.
 */
export async function readJournal(dir: string, options: { demo?: boolean } = {}): Promise<Journal | undefined> {
  const folder = dataFolder(dir);
  const key = await loadKeyFile(dir);
  const journal = Journal.openExisting(options.demo ? dataFolder(folder.demo).journal : folder.journal, new SecretBox(key ?? Buffer.alloc(32)));
  if (journal && !key) {
    journal.close();
    // The demo line's folder has no key of its own: its journal is read through the data folder.
    const demoOf = basename(dir) === 'demo' && !options.demo && (await loadKeyFile(dirname(dir))) !== undefined ? dirname(dir) : undefined;
    throw new ConfigError(`the data folder ${dir} has a journal but no key file (${folder.keyFile})`, {
      hint: demoOf
        ? `This is the demo line's journal inside the data folder ${demoOf}: read it with --demo --data-dir ${demoOf}.`
        : 'Restore station.key from a backup; the secrets in the journal cannot be read without it.',
    });
  }
  return journal;
}
