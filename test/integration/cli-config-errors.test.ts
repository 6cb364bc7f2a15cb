import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStation } from '../helpers/station-cli.ts';

/** What an engineer at a terminal sees when a file the station reads at start cannot be used: the file, the field, what to do. */
describe('station: files that cannot be used at start', () => {
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
});
