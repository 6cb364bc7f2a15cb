import { spawn } from 'node:child_process';

export interface StationExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `station <args>` to its end, with `stdin` on its standard input (or none), and resolves with what it printed; `nodeArgs` go to Node before the script. */
export function runStation(args: string[], stdin?: string, nodeArgs: string[] = []): Promise<StationExit> {
  const child = spawn(process.execPath, [...nodeArgs, 'bin/station.js', ...args], { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (stdin !== undefined) child.stdin!.end(stdin);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
