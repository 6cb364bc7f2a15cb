import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StationError } from '../errors.ts';
import type { DownloadedFirmware } from './cloud-adapter.ts';

/** What the writer needs of a file handle (node's FileHandle has it; tests inject their own). */
export interface WritableFile {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export type OpenWritableFile = (path: string, flags: 'w' | 'a') => Promise<WritableFile>;

/**
 * Writes a firmware download to "<destination>.part", hashing as it goes, and
 * moves it into place only when complete. A resumed download re-hashes what
 * is already on disk first, so the final hash always covers the whole file.
 * A write may take fewer bytes than asked: each chunk is written in a loop
 * until all of it is on disk, and the file's size is checked before it is
 * moved into place, so no file is ever shorter than its hash says. A failing
 * disk (ENOSPC...) is reported with the folder named.
 */
export class FirmwareFileWriter {
  readonly destination: string;
  private readonly partPath: string;
  private readonly handle: WritableFile;
  private readonly hash: Hash;
  private written: number;

  private constructor(destination: string, handle: WritableFile, hash: Hash, written: number) {
    this.destination = destination;
    this.partPath = `${destination}.part`;
    this.handle = handle;
    this.hash = hash;
    this.written = written;
  }

  /** Starts fresh, or (resume) continues after the bytes already in the .part file. */
  static async open(destination: string, options: { resume?: boolean; openFile?: OpenWritableFile } = {}): Promise<FirmwareFileWriter> {
    const partPath = `${destination}.part`;
    const hash = createHash('sha256');
    let written = 0;
    if (options.resume) {
      const existing = await stat(partPath).catch(() => undefined);
      if (existing) {
        const reader = await open(partPath, 'r');
        for await (const chunk of reader.createReadStream()) hash.update(chunk as Buffer);
        written = existing.size;
      }
    }
    // Owner-only, like everything in the data folder.
    const openFile = options.openFile ?? ((path, flags) => open(path, flags, 0o600));
    const handle = await openFile(partPath, written > 0 ? 'a' : 'w').catch((error: unknown) => {
      throw diskError(error, destination, 'created');
    });
    return new FirmwareFileWriter(destination, handle, hash, written);
  }

  static async discard(destination: string): Promise<void> {
    await rm(`${destination}.part`, { force: true });
  }

  get bytesWritten(): number {
    return this.written;
  }

  async write(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; ) {
      let bytesWritten: number;
      try {
        ({ bytesWritten } = await this.handle.write(chunk, offset, chunk.length - offset));
      } catch (error) {
        throw diskError(error, this.destination, 'written');
      }
      // A disk that takes nothing would loop forever.
      if (!(bytesWritten > 0)) throw diskError(new Error('the disk took no bytes'), this.destination, 'written');
      offset += bytesWritten;
    }
    this.hash.update(chunk);
    this.written += chunk.length;
  }

  /** Closes the file without finishing it (a resumable download keeps its .part). Never throws: the caller is already handling a failure. */
  async pause(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  /** Syncs, checks that the file on disk holds every byte hashed, and moves it into place; on any failure the .part is removed. */
  async finish(): Promise<DownloadedFirmware> {
    try {
      await this.handle.sync();
      await this.handle.close();
      const onDisk = (await stat(this.partPath)).size;
      if (onDisk !== this.written) throw new Error(`${onDisk} bytes on disk of ${this.written} received`);
      await rename(this.partPath, this.destination);
    } catch (error) {
      await this.pause();
      await FirmwareFileWriter.discard(this.destination);
      throw diskError(error, this.destination, 'saved');
    }
    return { path: this.destination, size: this.written, sha256: this.hash.digest('hex') };
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the disk is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EIO: 'the disk reported an I/O error',
};

/** A disk failure, with the folder named and what to do: the original error code stays in the message. */
function diskError(error: unknown, destination: string, action: 'created' | 'written' | 'saved'): StationError {
  const folder = dirname(destination);
  const code = (error as NodeJS.ErrnoException).code;
  const what = code ? `${code}: ${REASONS[code] ?? (error as Error).message}` : (error as Error).message;
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  return new StationError('FIRMWARE_WRITE_FAILED', `the firmware download could not be ${action} in ${folder} (${what})`, {
    hint: full
      ? `Free disk space where ${folder} lives (the station's data folder), then retry the unit.`
      : `Check that ${folder} (in the station's data folder) is writable and the disk is healthy, then retry the unit.`,
    retryable: false,
    cause: error,
  });
}
