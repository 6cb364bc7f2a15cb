import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StationError } from '../errors.ts';

/** Where everything a station keeps lives inside its data folder: the one place that names these files. */
export interface DataFolder {
  dir: string;
  /** The SQLite journal: units, step events, outbox, firmware cache index, settings. */
  journal: string;
  /** The command line's secrets key (the desktop app keeps its key with safeStorage). */
  keyFile: string;
  /** Downloaded firmware images, named by their SHA-256. */
  firmwareCache: string;
  /** Held open exclusively by the process that writes to this folder. */
  lock: string;
  /** The pid of that process, for the message a second one gets. */
  lockOwner: string;
  /** Settings saved from a screen (`station serve`; the app keeps them with electron-store). */
  settings: string;
  /** The station policy a screen cannot write: tcp ports, firmware folder, host names. */
  policy: string;
  /** Firmware files a screen may name or upload, unless the policy names another folder. */
  firmwareFiles: string;
  /** The demo line's own journal and cache, apart from the real line's. */
  demo: string;
}

export function dataFolder(dir: string): DataFolder {
  return {
    dir,
    journal: join(dir, 'journal.sqlite'),
    keyFile: join(dir, 'station.key'),
    firmwareCache: join(dir, 'firmware'),
    lock: join(dir, 'station.lock'),
    lockOwner: join(dir, 'station.lock.pid'),
    settings: join(dir, 'settings.json'),
    policy: join(dir, 'station-policy.json'),
    firmwareFiles: join(dir, 'firmware-files'),
    demo: join(dir, 'demo'),
  };
}

/** Creates the folder (owner only) if it is missing; files the station creates in it are the owner's alone. */
export function ensureDataFolder(folder: DataFolder): void {
  mkdirSync(folder.dir, { recursive: true, mode: 0o700 });
}

/** Creates `path` empty with mode 0600 if it does not exist, so whatever is written to it later is not world-readable. */
export function createPrivateFile(path: string): void {
  if (existsSync(path)) return;
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  chmodSync(path, 0o600);
}

/**
 * One process at a time writes to a data folder: two stations (or two
 * `outbox replay`s) on one journal would provision and replay the same units
 * twice. The lock is an exclusive SQLite lock on `station.lock`, held until
 * release; the OS drops it when the process dies, so a crash never leaves a
 * stale lock behind. Readers (history, outbox list) do not take it.
 */
export class DataFolderLock {
  private readonly db: DatabaseSync;
  private readonly folder: DataFolder;

  private constructor(db: DatabaseSync, folder: DataFolder) {
    this.db = db;
    this.folder = folder;
  }

  static acquire(folder: DataFolder): DataFolderLock {
    let db: DatabaseSync | undefined;
    try {
      ensureDataFolder(folder);
      createPrivateFile(folder.lock);
      db = new DatabaseSync(folder.lock);
      db.exec('PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE');
      writeFileSync(folder.lockOwner, `${process.pid}\n`, { mode: 0o600 });
    } catch (error) {
      // Let go of whatever was taken: a lock left held would refuse this same process once the disk has room again.
      if (db?.isTransaction) db.exec('ROLLBACK');
      db?.close();
      throw lockFailure(error, folder);
    }
    return new DataFolderLock(db, folder);
  }

  release(): void {
    if (!this.db.isOpen) return;
    rmSync(this.folder.lockOwner, { force: true });
    this.db.exec('ROLLBACK');
    this.db.close();
  }
}

/** Another station holds the folder (SQLite says busy), or the folder cannot be written: said apart, with what to do. */
function lockFailure(error: unknown, folder: DataFolder): StationError {
  const errcode = (error as { errcode?: unknown }).errcode;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof errcode === 'number' && (errcode & 0xff) === SQLITE_BUSY) {
    const owner = readOwner(folder);
    return new StationError('DATA_FOLDER_IN_USE', `the data folder ${folder.dir} is in use by another station process${owner ? ` (pid ${owner})` : ''}`, {
      hint: `Stop that process first${owner ? ` (kill ${owner})` : ''}, or give this one its own folder with --data-dir.`,
    });
  }
  const full = errcode === SQLITE_FULL || code === 'ENOSPC' || code === 'EDQUOT';
  const reason = full ? 'no space left on the disk' : error instanceof Error ? error.message : String(error);
  return new StationError('DATA_FOLDER_UNWRITABLE', `the data folder ${folder.dir} cannot be written (${reason})`, {
    hint: full ? `Free space on the disk holding ${folder.dir}, then start the station again.` : `Check that this user may write to ${folder.dir} and the disk is healthy, or use another --data-dir.`,
    cause: error,
  });
}

/** SQLite's result codes for "locked by another connection" and "disk full" (https://sqlite.org/rescode.html). */
const SQLITE_BUSY = 5;
const SQLITE_FULL = 13;

function readOwner(folder: DataFolder): string | undefined {
  try {
    const pid = readFileSync(folder.lockOwner, 'utf8').trim();
    return /^\d+$/.test(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
