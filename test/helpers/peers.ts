import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The repository root: peers live beside it, in ../shared/peers. */
const ROOT = resolve(import.meta.dirname, '../..');
export const ESPTOOL = resolve(ROOT, '../shared/peers/esptool-4.8.1/esptool.py');
export const NVS_GENERATOR_DIR = resolve(ROOT, '../shared/peers/esp-idf-nvs-partition-gen');
/** Debian's Python: the peers need its python3-serial and python3-intelhex, not another Python on PATH. */
export const PYTHON = '/usr/bin/python3';

export interface PeerRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a peer as its own process (asynchronously: a simulator in this process must keep answering it). */
export function runPeer(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<PeerRun> {
  const child = spawn(PYTHON, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** esptool on a pty, the way ../shared/peers/README.md says: no DTR/RTS on a pty, and the ROM without the stub. */
export function esptool(port: string, ...args: string[]): Promise<PeerRun> {
  return runPeer([ESPTOOL, '--port', port, '--before', 'no_reset', '--after', 'no_reset', '--no-stub', ...args]);
}

/** Writes files into a fresh temporary folder; returns the folder and each file's path. */
export function writeTempFiles(files: Array<{ name: string; data: Uint8Array | string }>): { dir: string; paths: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'peer-files-'));
  const paths = files.map(({ name, data }) => {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    return path;
  });
  return { dir, paths };
}
