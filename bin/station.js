#!/usr/bin/env node
// The station's command line. Node 24 runs the TypeScript sources directly (type stripping).
await import('../main/cli/station.ts');
