import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('station demo --kind esp32', () => {
  it('runs a whole simulated ESP32-S3 line: every unit flashed through its ROM bootloader and passed', { timeout: 120_000 }, async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/station.js', 'demo', '--kind', 'esp32', '--ports', '3', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('exit', (exit) => resolve({ code: exit, stdout: out }));
    });
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'demo-line', onPty: true });
    const units = lines.filter((line) => line.type === 'unit');
    expect(units.map((unit) => unit.result)).toEqual(['passed', 'passed', 'passed']);
    expect(units.map((unit) => unit.serial).sort()).toEqual(['24:0a:c4:00:00:01', '24:0a:c4:00:00:02', '24:0a:c4:00:00:03']);
    expect(lines.some((line) => line.type === 'progress' && line.step === 'flash')).toBe(true);
    expect(lines.find((line) => line.type === 'plan')).toMatchObject({ steps: ['identify', 'activate', 'rename', 'target-version', 'download', 'flash', 'write-credentials', 'verify-credentials', 'reboot', 'confirm'] });
    expect(code).toBe(0);
  });
});
