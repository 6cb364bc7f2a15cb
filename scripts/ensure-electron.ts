// Runs before `npm start` / `npm run dev`. electron-vite starts the binary named
// in node_modules/electron/path.txt and, when there is none, stops with
// "Error: Electron uninstall" and a stack trace. Electron's package has no
// install script (since 45) and downloads its binary lazily, so here the
// download happens once, through Electron's own installer, with a clear
// message; when it cannot happen, one sentence says what to do.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Longer than any download of Electron's ~100 MB archive on a working line. */
const INSTALL_TIME_LIMIT_MS = 20 * 60_000;
const HEARTBEAT_MS = 15_000;
const HELP = 'see "First start" in README.md';

function fail(sentence: string): never {
  process.stderr.write(`${sentence}\n`);
  process.exit(1);
}

/** The same test as Electron's install.js: the right version, the right platform's executable, present. */
function installedBinary(electronDir: string, version: string): string | undefined {
  try {
    const executable = readFileSync(join(electronDir, 'path.txt'), 'utf8');
    const distVersion = readFileSync(join(electronDir, 'dist', 'version'), 'utf8').trim().replace(/^v/, '');
    const path = join(electronDir, 'dist', executable);
    return distVersion === version && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The first line that names the failure (installers print a stack; nobody needs it here). */
function reasonFrom(output: string): string {
  const lines = output.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('at '));
  const reason = lines.find((line) => /(Error|error)\b.*:/.test(line)) ?? lines.at(-1) ?? 'no reason given';
  return reason.length > 200 ? `${reason.slice(0, 200)}…` : reason;
}

function runInstaller(installer: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [installer], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer | string): void => {
      output = (output + chunk.toString()).slice(-8192);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const started = Date.now();
    const heartbeat = setInterval(() => process.stdout.write(`  still downloading Electron (${Math.round((Date.now() - started) / 1000)} s)…\n`), HEARTBEAT_MS);
    const limit = setTimeout(() => {
      output += `\nError: no answer after ${INSTALL_TIME_LIMIT_MS / 60_000} minutes`;
      child.kill();
    }, INSTALL_TIME_LIMIT_MS);
    child.on('error', (error) => collect(`Error: ${error.message}`));
    child.on('close', (code) => {
      clearInterval(heartbeat);
      clearTimeout(limit);
      resolve({ ok: code === 0, output });
    });
  });
}

// A binary given by path (electron-vite honours ELECTRON_EXEC_PATH) needs no download.
const givenBinary = process.env.ELECTRON_EXEC_PATH;
if (givenBinary) {
  if (!existsSync(givenBinary)) fail(`Cannot start: ELECTRON_EXEC_PATH names ${givenBinary}, which does not exist; point it at an Electron binary or unset it (${HELP}).`);
  process.exit(0);
}

let electronDir: string;
try {
  electronDir = dirname(createRequire(join(process.cwd(), 'package.json')).resolve('electron/package.json'));
} catch {
  fail(`Cannot start: the electron package is not installed; run "npm ci" first (${HELP}).`);
}
const { version } = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')) as { version: string };
if (installedBinary(electronDir, version)) process.exit(0);

process.stdout.write(`Electron ${version} is not downloaded yet: fetching it once with Electron's own installer (about 100 MB)…\n`);
const { ok, output } = await runInstaller(join(electronDir, 'install.js'));
if (!ok || !installedBinary(electronDir, version)) {
  fail(
    `Cannot start: Electron ${version} could not be downloaded (${reasonFrom(output)}); ` +
      `run "npx install-electron" where its download site is reachable, set ELECTRON_MIRROR to a mirror, or set ELECTRON_EXEC_PATH to an Electron ${version} binary (${HELP}).`,
  );
}
process.stdout.write(`Electron ${version} is installed.\n`);
