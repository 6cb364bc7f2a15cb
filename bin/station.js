#!/usr/bin/env node
// The station's command line. Node 24 runs the TypeScript sources directly (type stripping); an older Node
// would die on the first .ts import with ERR_UNKNOWN_FILE_EXTENSION, so say what is wrong first.
const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < REQUIRED_MAJOR) {
  console.error(
    `station: Provisioning Station needs Node.js ${REQUIRED_MAJOR} or later; this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      `Install Node.js ${REQUIRED_MAJOR} (https://nodejs.org/en/download, or "nvm install ${REQUIRED_MAJOR}"), then run the command again.`,
  );
  process.exit(2);
}
await import('../main/cli/station.ts');
