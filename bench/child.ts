import { spawn, type ChildProcess } from 'node:child_process';

/** Starts a helper process and resolves with the first stdout line that matches, parsed by `read`. */
export function startHelper<T>(args: string[], read: (line: string) => T | undefined, options: { stdin?: 'ignore' | 'pipe' } = {}): Promise<{ child: ChildProcess; value: T }> {
  const child = spawn(process.execPath, args, { stdio: [options.stdin ?? 'ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        const value = read(line);
        if (value !== undefined) return resolve({ child, value });
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

export async function stopHelper(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
