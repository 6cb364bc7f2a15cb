import { spawn } from 'node:child_process';

export interface StationExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StationRunOptions {
  /** Written to its standard input (none: no standard input). */
  stdin?: string;
  /** Node's own arguments, before the script. */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Runs `station <args>` to its end and resolves with what it printed. */
export function runStation(args: string[], { stdin, nodeArgs = [], env = process.env }: StationRunOptions = {}): Promise<StationExit> {
  const child = spawn(process.execPath, [...nodeArgs, 'bin/station.js', ...args], { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (stdin !== undefined) child.stdin!.end(stdin);
  // 'close', not 'exit': the exit can come before the last of its output has been read.
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}
