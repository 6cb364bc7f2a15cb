import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { StationError } from '../../../main/core/errors.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';

const box = () => new SecretBox(randomBytes(32));

/** A small real file system (tmpfs) of its own: the station meets a full or read-only disk as it would on a line. */
function smallDisk(size: string): { dir: string; remountReadOnly(): void; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'small-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) throw new Error(`this test mounts a tmpfs and needs root: ${mounted.stderr}`);
  return {
    dir,
    remountReadOnly: () => execFileSync('mount', ['-o', 'remount,ro', dir]),
    unmount: () => execFileSync('umount', ['-l', dir]),
  };
}

function failureOf(work: () => unknown): StationError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(StationError);
    return error as StationError;
  }
  throw new Error('expected a failure');
}

describe('journal failures a technician can act on', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const step of cleanup.splice(0).reverse()) step();
  });

  it('a full disk: the error names the folder and says to free space, never "cannot rollback"', () => {
    const disk = smallDisk('256k');
    cleanup.push(() => disk.unmount());
    const journal = Journal.open(join(disk.dir, 'journal.sqlite'), box());
    cleanup.push(() => journal.close());
    const detail = 'x'.repeat(4000);
    const error = failureOf(() => {
      for (let i = 0; i < 10_000; i++) {
        const unit = journal.startUnit(`FULL${i}`, '/dev/ttyACM0');
        // recordStep is a transaction: the case where a second ROLLBACK used to hide the real error.
        journal.recordStep(unit.id, 'flash', 'done', { detail });
      }
    });
    expect(error.code).toBe('JOURNAL_DISK_FULL');
    expect(error.describe()).toContain(`the disk holding ${disk.dir} is full`);
    expect(error.describe()).toContain('Free space');
    expect(error.describe()).not.toContain('rollback');
  });

  it('a full disk while a downloaded firmware is indexed: the same error, naming the folder', () => {
    const disk = smallDisk('256k');
    cleanup.push(() => disk.unmount());
    const journal = Journal.open(join(disk.dir, 'journal.sqlite'), box());
    cleanup.push(() => journal.close());
    const path = 'p'.repeat(4000);
    const error = failureOf(() => {
      for (let i = 0; i < 10_000; i++) journal.cacheFirmware({ versionKey: `gadgetkeeper:http://cloud:${i}`, sha256: 'a'.repeat(64), size: 1000, path });
    });
    expect(error.code).toBe('JOURNAL_DISK_FULL');
    expect(error.describe()).toContain(`the disk holding ${disk.dir} is full`);
  });

  it('a read-only disk: the error names the journal and what to do', () => {
    const disk = smallDisk('1m');
    cleanup.push(() => disk.unmount());
    const path = join(disk.dir, 'journal.sqlite');
    Journal.open(path, box()).close();
    disk.remountReadOnly();
    const error = failureOf(() => Journal.open(path, box()));
    expect(['JOURNAL_READ_ONLY', 'JOURNAL_CANNOT_OPEN']).toContain(error.code);
    expect(error.describe()).toContain(path);
    expect(error.describe()).toMatch(/--data-dir/);
  });

  it('a damaged journal: the error names the file and says to move it aside', () => {
    const dir = mkdtempSync(join(tmpdir(), 'damaged-'));
    const path = join(dir, 'journal.sqlite');
    writeFileSync(path, randomBytes(8192));
    const error = failureOf(() => Journal.open(path, box()));
    expect(error.code).toBe('JOURNAL_DAMAGED');
    expect(error.describe()).toContain(`the journal ${path} is damaged`);
    expect(error.describe()).toContain('Move it aside');
  });

  it('files the journal creates in an existing, open folder are readable by the owner only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'modes-'));
    chmodSync(dir, 0o755);
    const journal = Journal.open(join(dir, 'journal.sqlite'), box());
    journal.startUnit('MODE1', '/dev/ttyACM0');
    const files = readdirSync(dir);
    expect(files).toEqual(expect.arrayContaining(['journal.sqlite', 'journal.sqlite-wal', 'journal.sqlite-shm']));
    for (const file of files) expect((statSync(join(dir, file)).mode & 0o777).toString(8), file).toBe('600');
    journal.close();
  });
});

describe('tools that only read create nothing', () => {
  it.each([['history'], ['outbox', 'list']])('station %s on an empty folder creates no journal and no key', (...command) => {
    const dir = join(mkdtempSync(join(tmpdir(), 'empty-')), 'data');
    mkdirSync(dir);
    const run = spawnSync(process.execPath, ['bin/station.js', ...command, '--data-dir', dir], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});
