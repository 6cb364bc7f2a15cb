import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { esptool } from '../../helpers/peers.ts';

describe('station sim device --kind esp32', () => {
  it('serves a simulated ESP32-S3 on a pty that esptool identifies, with the MAC it was given', async () => {
    const child = spawn(process.execPath, ['bin/station.js', 'sim', 'device', '--kind', 'esp32', '--chip', 'esp32s3', '--mac', '7c:df:a1:00:12:34'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const path = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on (\S+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const run = await esptool(path, 'read_mac');
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain('Chip is ESP32-S3');
      expect(run.stdout).toContain('MAC: 7c:df:a1:00:12:34');
    } finally {
      child.kill('SIGINT');
    }
  });

  it('exits 2 naming options that belong to the other kind, or a bad value', () => {
    const foreign = spawnSync(process.execPath, ['bin/station.js', 'sim', 'device', '--kind', 'esp32', '--serial', 'X'], { encoding: 'utf8' });
    expect(foreign.status).toBe(2);
    expect(foreign.stderr).toContain('--serial is not an option of a simulated ESP32');
    const badChip = spawnSync(process.execPath, ['bin/station.js', 'sim', 'device', '--kind', 'esp32', '--chip', 'esp8266'], { encoding: 'utf8' });
    expect(badChip.status).toBe(2);
    expect(badChip.stderr).toContain('--chip');
    const withoutKind = spawnSync(process.execPath, ['bin/station.js', 'sim', 'device', '--mac', '24:0a:c4:00:00:01'], { encoding: 'utf8' });
    expect(withoutKind.status).toBe(2);
    expect(withoutKind.stderr).toContain('--mac only with --kind esp32');
  });
});
