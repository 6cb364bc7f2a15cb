import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const station = (args: string[], node = process.execPath) => spawnSync(node, ['bin/station.js', ...args], { encoding: 'utf8' });

describe('first contact with the command line', () => {
  it('on an older Node (the machine\'s own, /usr/bin/node) says which Node it needs, which one runs, and how to get it', () => {
    const old = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
    expect(Number(old.stdout.trim().replace(/^v/, '').split('.')[0]), 'this test needs the machine\'s own, older Node at /usr/bin/node').toBeLessThan(24);
    const run = station(['--help'], '/usr/bin/node');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('needs Node.js 24 or later');
    expect(run.stderr).toContain(`this is Node.js ${old.stdout.trim().replace(/^v/, '')}`);
    expect(run.stderr).toContain('nvm install 24');
    expect(run.stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
  });

  it('installs refuse the wrong engine', () => {
    expect(readFileSync('.npmrc', 'utf8')).toMatch(/^engine-strict=true$/m);
    expect((JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node).toBe('>=24.0.0');
  });

  it('--version, help, help <command> and sim --help work', () => {
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(station(['--version'])).toMatchObject({ status: 0, stdout: `station ${version}\n` });
    const help = station(['help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: station <command>');
    expect(station(['help', 'run'])).toMatchObject({ status: 0, stdout: expect.stringContaining('Usage: station run') });
    expect(station(['help', 'sim', 'device'])).toMatchObject({ status: 0, stdout: expect.stringContaining('Usage: station sim device') });
    const sim = station(['sim', '--help']);
    expect(sim.status).toBe(0);
    expect(sim.stdout).toContain('sim device');
    expect(sim.stdout).toContain('sim cloud');
  });
});
