/**
 * Preloaded with --import into a station process: records the V8 flags the
 * process sets on itself (v8.setFlagsFromString) and prints them as one JSON
 * line on standard error when it exits.
 */
import { syncBuiltinESMExports } from 'node:module';
import v8 from 'node:v8';

const flags: string[] = [];
const setFlags = v8.setFlagsFromString.bind(v8);
v8.setFlagsFromString = (flag: string) => {
  flags.push(flag);
  setFlags(flag);
};
// Modules that import { setFlagsFromString } from 'node:v8' see the recorder too.
syncBuiltinESMExports();
process.on('exit', () => process.stderr.write(`${JSON.stringify({ v8FlagsSet: flags })}\n`));
