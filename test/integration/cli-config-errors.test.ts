import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStation } from '../helpers/station-cli.ts';

/** What an engineer at a terminal sees when a file or an option given at start cannot be used: which one, what is wrong, what to do. */
describe('station: bad input at start', () => {
  it('serve with saved settings it cannot use names the settings file and says how to start again, before any screen exists', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bad-settings-'));
    const settings = join(dataDir, 'settings.json');
    writeFileSync(settings, JSON.stringify({ line: { backend: 5 }, colour: 'blue' }), { mode: 0o600 });
    const result = await runStation(['serve', '--data-dir', dataDir, '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`settings file ${settings} is invalid`);
    expect(result.stderr).toContain('line.backend');
    expect(result.stderr).toContain('move it aside');
    expect(result.stdout).not.toContain('#token=');
  });

  it('outbox list on a folder where no station has run says so, rather than only that the outbox is empty', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'no-station-')), 'data-dri');
    const result = await runStation(['outbox', 'list', '--data-dir', missing]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`no station has recorded anything in ${missing} yet`);
    const json = await runStation(['outbox', 'list', '--json', '--data-dir', missing]);
    expect(json.stdout).toBe('');
    expect(json.stderr).toContain(missing);
  });

  it('run with an empty --port (an unset shell variable) is bad usage, not a failed unit', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'empty-port-')), 'line.json');
    writeFileSync(config, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: 'http://127.0.0.1:9' }, ports: ['/dev/ttyACM0'] }));
    const result = await runStation(['run', '--config', config, '--port', '', '--once', '--json', '--data-dir', mkdtempSync(join(tmpdir(), 'data-'))]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port needs a port');
    expect(result.stdout).toBe('');
  });

  it('serve with an empty or odd --port (an unset shell variable, a typo) is bad usage, not a random port', async () => {
    for (const port of ['', '80a', '1e3', ' 8080']) {
      const result = await runStation(['serve', '--data-dir', mkdtempSync(join(tmpdir(), 'serve-odd-port-')), '--port', port]);
      expect(result.code, `--port "${port}"`).toBe(2);
      expect(result.stderr).toContain('--port 0 to 65535');
      expect(result.stdout).not.toContain('#token=');
    }
  });

  it('sim names all three things it simulates', async () => {
    const result = await runStation(['sim', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: station sim <device|cloud|printer> [options]');
  });

  it('serve on a port already taken says which option to change, and exits 2 (bad usage)', async () => {
    const taken = createServer();
    await new Promise<void>((listening) => taken.listen(0, '127.0.0.1', listening));
    try {
      const { port } = taken.address() as AddressInfo;
      const result = await runStation(['serve', '--data-dir', mkdtempSync(join(tmpdir(), 'serve-taken-')), '--port', String(port)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`--port ${port} is already in use`);
      expect(result.stderr).toContain('pick another --port');
    } finally {
      await new Promise((closed) => taken.close(closed));
    }
  });
});
