import { randomBytes } from 'node:crypto';
import { clearEngineerPin, PIN_LENGTH, storeEngineerPin, storedPinHash } from '../core/operator/engineer-pin.ts';
import { dataFolder, ensureDataFolder } from '../core/storage/data-folder.ts';
import { Journal } from '../core/storage/journal.ts';
import { SecretBox } from '../core/storage/secret-box.ts';
import { defaultDataDir, parseCommand } from './args.ts';

const HELP = `Usage: station engineer-pin <set|clear|status> [--data-dir DIR]

Operator mode: with an engineer PIN set, settings, device profiles, firmware,
the demo line and starting or stopping the line can only be changed from a
screen unlocked with the PIN (the station refuses the calls otherwise).

  set      reads the new PIN from standard input (asked twice, not shown, on a
           terminal; the first line otherwise), ${PIN_LENGTH.min} to ${PIN_LENGTH.max} characters; only its
           scrypt hash is kept, in the data folder's journal
  clear    removes the PIN: operator mode off
  status   says whether a PIN is set

A running station applies the change at the next call; no restart needed.`;

export async function engineerPinCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand('engineer-pin', argv, { 'data-dir': { type: 'string' } }, HELP, true);
  if (typeof parsed === 'number') return parsed;
  const [action, ...extra] = parsed.positionals;
  if ((action !== 'set' && action !== 'clear' && action !== 'status') || extra.length > 0) {
    console.error(`station engineer-pin: say set, clear or status\n\n${HELP}`);
    return 2;
  }
  const folder = dataFolder((parsed.values['data-dir'] as string | undefined) ?? defaultDataDir());
  ensureDataFolder(folder);
  // This connection touches only the PIN's hash in the settings table, nothing sealed: no key is needed or created.
  const journal = Journal.open(folder.journal, new SecretBox(randomBytes(32)));
  try {
    if (action === 'status') {
      console.log(storedPinHash(journal) === undefined ? 'no engineer PIN is set: operator mode is off' : 'an engineer PIN is set: operator mode is on');
      return 0;
    }
    if (action === 'clear') {
      clearEngineerPin(journal);
      console.log('the engineer PIN is removed: operator mode is off');
      return 0;
    }
    const pin = await readPin();
    if (pin === undefined) return 2;
    await storeEngineerPin(journal, pin);
    console.log(`the engineer PIN is set (its scrypt hash is in ${folder.journal}): operator mode is on`);
    return 0;
  } finally {
    journal.close();
  }
}

/** The PIN from standard input: asked twice without echo on a terminal, else the first line. */
async function readPin(): Promise<string | undefined> {
  if (process.stdin.isTTY) {
    const first = await askHidden('New engineer PIN: ');
    const second = await askHidden('The same PIN again: ');
    if (first !== second) {
      console.error('station engineer-pin: the two PINs differ; nothing was changed');
      return undefined;
    }
    return first;
  }
  const text = await readAll(process.stdin);
  const pin = text.split(/\r?\n/)[0] ?? '';
  if (pin.length === 0) {
    console.error('station engineer-pin: no PIN on standard input (give it on the first line)');
    return undefined;
  }
  return pin;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    // The first line is all we take; a PIN is never megabytes.
    if (text.includes('\n') || text.length > 4096) break;
  }
  return text;
}

/** One line typed on the terminal without showing it. */
function askHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    process.stdout.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let typed = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          stdin.off('data', onData);
          stdin.setRawMode(false);
          stdin.pause();
          process.stdout.write('\n');
          resolve(typed);
          return;
        }
        if (char === '\u0003') process.exit(130);
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    stdin.on('data', onData);
  });
}
