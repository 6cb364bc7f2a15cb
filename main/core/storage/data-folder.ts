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
    ensureDataFolder(folder);
    createPrivateFile(folder.lock);
    const db = new DatabaseSync(folder.lock);
    try {
      db.exec('PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE');
    } catch {
      db.close();
      const owner = readOwner(folder);
      throw new StationError('DATA_FOLDER_IN_USE', `the data folder ${folder.dir} is in use by another station process${owner ? ` (pid ${owner})` : ''}`, {
        hint: `Stop that process first${owner ? ` (kill ${owner})` : ''}, or give this one its own folder with --data-dir.`,
      });
    }
    writeFileSync(folder.lockOwner, `${process.pid}\n`, { mode: 0o600 });
    return new DataFolderLock(db, folder);
  }

  release(): void {
    if (!this.db.isOpen) return;
    rmSync(this.folder.lockOwner, { force: true });
    this.db.exec('ROLLBACK');
    this.db.close();
  }
}

function readOwner(folder: DataFolder): string | undefined {
  try {
    const pid = readFileSync(folder.lockOwner, 'utf8').trim();
    return /^\d+$/.test(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
