import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const require = createRequire(join(root, 'package.json'));

describe('the packaged app\'s Electron fuses', () => {
  it('are set as electron-builder reads and validates electron-builder.yml', async () => {
    // electron-builder's own loader and schema check, so a misspelt fuse fails here and not in a release build.
    const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
    const { DebugLogger } = require('builder-util');
    const config = await getConfig(root, null, null);
    await validateConfiguration(config, new DebugLogger(false));
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
      // The page comes from station://app/ (app-protocol.ts), so file:// keeps only a browser's rights.
      grantFileProtocolExtraPrivileges: false,
    });
    // Asar integrity and OnlyLoadAppFromAsar mean nothing without an archive.
    expect(config.asar ?? true).toBe(true);
  });
});

describe('first start: Electron\'s binary', () => {
  const script = join(root, 'scripts/ensure-electron.ts');

  /** A project folder whose node_modules/electron is a stand-in with the given installer. */
  function project(installer: string, installed?: { version: string }): string {
    const dir = mkdtempSync(join(tmpdir(), 'first-start-'));
    const electron = join(dir, 'node_modules/electron');
    mkdirSync(join(electron, 'dist'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"name":"p","type":"module"}');
    writeFileSync(join(electron, 'package.json'), '{"name":"electron","version":"45.5.0","main":"index.js"}');
    writeFileSync(join(electron, 'install.js'), installer);
    if (installed) {
      writeFileSync(join(electron, 'path.txt'), 'electron');
      writeFileSync(join(electron, 'dist/version'), installed.version);
      writeFileSync(join(electron, 'dist/electron'), '');
    }
    return dir;
  }
  const installs = `const fs = require('fs'), p = require('path');
    fs.writeFileSync(p.join(__dirname, 'dist/version'), '45.5.0');
    fs.writeFileSync(p.join(__dirname, 'dist/electron'), '');
    fs.writeFileSync(p.join(__dirname, 'path.txt'), 'electron');`;
  const cannotDownload = `console.error(new Error('getaddrinfo ENOTFOUND github.com').stack); process.exit(1);`;
  const mustNotRun = `process.exit(3);`;

  function ensure(cwd: string, env: Record<string, string> = {}) {
    const { ELECTRON_EXEC_PATH: _ignored, ...base } = process.env;
    const run = spawnSync(process.execPath, [script], { cwd, env: { ...base, ...env }, encoding: 'utf8', timeout: 60_000 });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  }

  it('downloads it once through Electron\'s own installer, saying so, when it is missing', () => {
    const dir = project(installs);
    const run = ensure(dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Electron 45.5.0 is not downloaded yet');
    expect(run.stdout).toContain('Electron 45.5.0 is installed.');
    expect(existsSync(join(dir, 'node_modules/electron/dist/electron'))).toBe(true);
  });

  it('stops with one sentence that says what to do, and no stack trace, when it cannot be downloaded', () => {
    const run = ensure(project(cannotDownload));
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Cannot start: Electron 45\.5\.0 could not be downloaded \(Error: getaddrinfo ENOTFOUND github\.com\); run "npx install-electron".*README\.md\)\.$/);
    expect(run.stderr + run.stdout).not.toMatch(/^\s+at /m);
  });

  it('does nothing, quietly, when the binary of this version is there', () => {
    const run = ensure(project(mustNotRun, { version: 'v45.5.0' }));
    expect(run).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });

  it('fetches the new binary after an upgrade left the old version in place', () => {
    const dir = project(installs, { version: '45.4.1' });
    const run = ensure(dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Electron 45.5.0 is not downloaded yet');
    expect(readFileSync(join(dir, 'node_modules/electron/dist/version'), 'utf8')).toBe('45.5.0');
  });

  it('takes a binary given with ELECTRON_EXEC_PATH, and says so plainly when that path is wrong', () => {
    const dir = project(mustNotRun);
    expect(ensure(dir, { ELECTRON_EXEC_PATH: process.execPath }).status).toBe(0);
    const wrong = ensure(dir, { ELECTRON_EXEC_PATH: join(dir, 'no-such-electron') });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^Cannot start: ELECTRON_EXEC_PATH names .*no-such-electron, which does not exist/);
  });

  it('runs before electron-vite in npm start and npm run dev', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.start).toBe('node scripts/ensure-electron.ts && electron-vite preview');
    expect(scripts.dev).toBe('node scripts/ensure-electron.ts && electron-vite dev');
  });
});
