import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface ServedStation {
  url: string;
  output: () => string;
  stop(): Promise<number | null>;
}

/** `station serve` as a real process, as a supervisor would start it (with `env` added to this one's); resolves with the address it prints. */
export async function startStationServe(args: string[], env: Record<string, string> = {}): Promise<ServedStation> {
  const dataDir = mkdtempSync(join(tmpdir(), 'station-serve-'));
  const child = spawn(process.execPath, [resolve('bin/station.js'), 'serve', '--port', '0', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`station serve printed no address in 30 s:\n${output}`)), 30_000);
    const look = () => {
      const match = /on (http:\/\/\S+?\/)/.exec(output);
      if (match) {
        clearTimeout(timer);
        done(match[1]!);
      }
    };
    child.stdout.on('data', look);
    void exited.then((code) => fail(new Error(`station serve exited (${code}) before serving:\n${output}`)));
  });
  return {
    url,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      const code = await exited;
      clearTimeout(killer);
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
