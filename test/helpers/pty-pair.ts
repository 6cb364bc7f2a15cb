import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Two connected pseudo-terminals made by socat: what one side writes, the other reads. */
export interface PtyPair {
  /** The station's end. */
  a: string;
  /** The device's end. */
  b: string;
  socat: ChildProcess;
  /** Kills socat with SIGKILL: both ends hang up at once, like a yanked USB cable. */
  kill(): void;
  dispose(): Promise<void>;
}

export async function makePtyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const socat = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  while (!(existsSync(a) && existsSync(b))) {
    if (Date.now() > deadline || socat.exitCode !== null) throw new Error('socat did not create the pty pair');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const exited = new Promise<void>((resolve) => {
    if (socat.exitCode !== null || socat.signalCode !== null) resolve();
    else socat.once('exit', () => resolve());
  });
  return {
    a,
    b,
    socat,
    kill: () => socat.kill('SIGKILL'),
    async dispose() {
      socat.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
