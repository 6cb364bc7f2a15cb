import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LrzszOnPty {
  /** The pty the station opens: the other end of the line from the lrzsz program. */
  path: string;
  /** The folder the program runs in (where rb and rx write what they receive). */
  dir: string;
  /** Resolves when the program has exited, with its exit code and what it printed on stderr. */
  done: Promise<{ code: number | null; stderr: string }>;
  kill(): void;
}

/**
 * Starts an lrzsz program (rb, rx, sb…) on the far end of a pty. socat gives
 * the station a real pty and feeds the program through a socketpair: lrzsz
 * flushes its tty on exit, and on a pty that discards its final ACK before
 * socat reads it (sx → rx hangs on the lost EOT ACK the same way).
 */
export async function startLrzszOnPty(program: string, args: string[]): Promise<LrzszOnPty> {
  const dir = mkdtempSync(join(tmpdir(), 'lrzsz-'));
  const path = join(dir, 'tty');
  // A script file sidesteps socat's address quoting, and reports the program's own exit code.
  const script = join(dir, 'run.sh');
  const command = [program, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  // The pause lets the station open its end first: opening a tty flushes its input, eating an early 'C'.
  writeFileSync(script, `#!/bin/sh\nsleep 0.3\n${command}\necho "exit=$?" >&2\n`, { mode: 0o700 });
  const socat = spawn('socat', [`pty,raw,echo=0,link=${path}`, `EXEC:${script}`], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  socat.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    socat.once('exit', () => {
      const match = /exit=(\d+)/.exec(stderr);
      resolve({ code: match ? Number(match[1]) : null, stderr });
    });
  });
  const deadline = Date.now() + 5000;
  while (!existsSync(path)) {
    if (Date.now() > deadline || socat.exitCode !== null) throw new Error(`socat did not start ${program}: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { path, dir, done, kill: () => socat.kill('SIGKILL') };
}
