import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StationError } from '../errors.ts';
import { sleep } from '../sleep.ts';

/** How long a pinned file must have stood unchanged before it is read (ms). */
export const DEFAULT_SETTLE_MS = 2000;
/** How long the station waits for a pinned file being written to stand still before it gives up (ms). */
export const DEFAULT_SETTLE_TIMEOUT_MS = 30_000;
/** A file re-read this often after changing under the read is not being left alone: give up. */
const MAX_READS = 5;

export interface SettleOptions {
  /** How long the file must have stood unchanged (ms). */
  settleMs?: number;
  /** How long to wait for that, in all, before failing (ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called once, when a file is first found still changing, with when the wait ends at the latest (epoch ms). */
  onWaiting?: (reason: string, until: number) => void;
}

/** Refuses a file at once, from any state it is seen in (not a regular file, too large): throws. */
export type FileCheck = (file: Stats) => void;

/**
 * Reading a file someone may be writing at that moment (a technician doing
 * `cp new.bin pinned.bin`, which truncates and then writes in chunks): it is
 * read only once it has stood unchanged (size, modification time, inode) for
 * `settleMs`, and read again when it changed under the read, so a half-written
 * file is never handed out. One wait covers every file of one use (a build's
 * flasher_args.json and its parts) and is bounded by `timeoutMs`.
 */
export class SettleWait {
  private readonly settleMs: number;
  private readonly timeoutMs: number;
  private readonly deadline: number;
  private readonly options: SettleOptions;
  private told = false;

  constructor(options: SettleOptions = {}) {
    this.options = options;
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
    this.deadline = Date.now() + this.timeoutMs;
  }

  /**
   * What `read` makes of the file, from a read the file did not change under.
   * `read` gets the settled file's stats and returns undefined when the file
   * turned out shorter than they said (it changed). Stat errors (ENOENT…) are thrown as they are.
   */
  async read<T>(path: string, check: FileCheck, read: (file: Stats) => Promise<T | undefined>): Promise<T> {
    for (let reads = 1; ; reads++) {
      const before = await this.settled(path, check);
      const result = await read(before);
      const after = await stat(path);
      // A write after the file settled dates it at least settleMs later: a changed mtime shows it even on a coarse clock.
      if (result !== undefined && sameFile(before, after)) return result;
      if (reads >= MAX_READS || Date.now() >= this.deadline) throw this.keptChanging(path);
    }
  }

  /** The file's stats once it has stood unchanged for settleMs (at once if its last change is older than that). */
  private async settled(path: string, check: FileCheck): Promise<Stats> {
    let current = await stat(path);
    let seenSince = Date.now();
    for (;;) {
      check(current);
      // Nothing to settle in what is not a regular file: the caller refuses it.
      if (!current.isFile()) return current;
      const now = Date.now();
      // Last changed long enough ago, or watched unchanged that long (a file dated in the future by another machine's clock).
      if (now - current.mtimeMs >= this.settleMs || now - seenSince >= this.settleMs) return current;
      if (now >= this.deadline) throw this.keptChanging(path);
      if (!this.told) {
        this.told = true;
        this.options.onWaiting?.(`the pinned firmware file ${path} is being written; waiting for it to stand unchanged for ${seconds(this.settleMs)}`, this.deadline);
      }
      await sleep(Math.max(1, Math.min(pollMs(this.settleMs), this.deadline - now)), this.options.signal);
      const next = await stat(path);
      if (!sameFile(current, next)) {
        current = next;
        seenSince = Date.now();
      }
    }
  }

  private keptChanging(path: string): StationError {
    return new StationError('FIRMWARE_CHANGING', `the pinned firmware file ${path} kept changing for ${seconds(this.timeoutMs)}: it is being written, and a half-written image is never flashed`, {
      hint: 'Copy a new image next to it under another name, then move it into place with mv (a move is atomic: cp new.bin fw.bin.tmp && mv fw.bin.tmp fw.bin), and retry the unit.',
      retryable: true,
    });
  }
}

/** The same file, unchanged: same inode, size, modification and change time. */
export function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** A key that changes whenever the file does, for sharing one read among callers that saw the same file. */
export function fileIdentity(file: Stats): string {
  return `${file.dev}:${file.ino}:${file.size}:${file.mtimeMs}:${file.ctimeMs}`;
}

/** Often enough to notice the file standing still soon after settleMs, rarely enough to cost nothing. */
function pollMs(settleMs: number): number {
  return Math.min(250, Math.max(10, settleMs / 8));
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
