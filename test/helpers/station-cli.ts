import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

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

/** A `station` process at work: its output as it comes, line by line, and its standard input. */
export interface StartedStation {
  child: ChildProcessWithoutNullStreams;
  /** Writes to its standard input (a scanned label is a line). */
  write(text: string): void;
  /** Resolves when it has ended, with everything it printed. */
  done: Promise<StationExit>;
  /** `done`, or, after `timeoutMs`, kills it and rejects: a command that should end by itself does not hang a test. */
  endsWithin(timeoutMs: number): Promise<StationExit>;
}

/** Starts `station <args>` with a standard input to write to; `onStdout` sees each line it prints, as it prints it; `env` adds to the environment. */
export function startStation(args: string[], onStdout?: (line: string, write: (text: string) => void) => void, env: NodeJS.ProcessEnv = {}): StartedStation {
  const child = spawn(process.execPath, ['bin/station.js', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const write = (text: string) => void child.stdin.write(text);
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) onStdout?.(line, write);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': the exit can come before the last of its output has been read.
  const done = new Promise<StationExit>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  const endsWithin = async (timeoutMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`station ${args[0]} did not end within ${timeoutMs} ms; it printed:\n${stdout}\n${stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([done, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { child, write, done, endsWithin };
}
