import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

export type ParsedArgs = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

/**
 * Parses a command's options the same way for every command: --help prints
 * the help (exit 0), a wrong option prints the problem and the help (exit 2).
 * Returns the parsed arguments, or the exit status when the command is done.
 */
export function parseCommand(command: string, argv: string[], options: ParseArgsOptionsConfig, help: string, allowPositionals = false): ParsedArgs | number {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true }) as ParsedArgs;
  } catch (error) {
    console.error(`station ${command}: ${(error as Error).message}\n\n${help}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(help);
    return 0;
  }
  return parsed;
}

/** Journal, firmware cache and key: $STATION_DATA_DIR, else the XDG data folder. */
export function defaultDataDir(): string {
  return process.env.STATION_DATA_DIR ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'provisioning-station');
}
