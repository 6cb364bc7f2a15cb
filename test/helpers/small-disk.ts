import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  /** The tmpfs's mount point: a data folder whose disk a test can fill. */
  dir: string;
  /** Fills the disk to its last byte: the journal's next write fails with "disk full". */
  fill(): void;
  /** Room again. */
  free(): void;
  unmount(): void;
}

/** A data folder on a small tmpfs of its own (8 MiB), so a test can fill its disk under a running station. Needs root. */
export function smallDisk(): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'line-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) throw new Error(`this test mounts a tmpfs and needs root: ${mounted.stderr}`);
  return {
    dir,
    // dd stops with "No space left on device" once the disk is full: that is the point.
    fill: () => void spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=64k'], { stdio: 'ignore' }),
    free: () => rmSync(join(dir, 'filler'), { force: true }),
    unmount: () => execFileSync('umount', ['-l', dir]),
  };
}
