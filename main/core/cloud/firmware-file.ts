import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { DownloadedFirmware } from './cloud-adapter.ts';

/**
 * Writes a firmware download to "<destination>.part", hashing as it goes, and
 * moves it into place only when complete. A resumed download re-hashes what
 * is already on disk first, so the final hash always covers the whole file.
 */
export class FirmwareFileWriter {
  readonly destination: string;
  private readonly partPath: string;
  private readonly handle: FileHandle;
  private readonly hash: Hash;
  private written: number;

  private constructor(destination: string, handle: FileHandle, hash: Hash, written: number) {
    this.destination = destination;
    this.partPath = `${destination}.part`;
    this.handle = handle;
    this.hash = hash;
    this.written = written;
  }

  /** Starts fresh, or (resume) continues after the bytes already in the .part file. */
  static async open(destination: string, options: { resume?: boolean } = {}): Promise<FirmwareFileWriter> {
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
    const handle = await open(partPath, written > 0 ? 'a' : 'w');
    return new FirmwareFileWriter(destination, handle, hash, written);
  }

  static async discard(destination: string): Promise<void> {
    await rm(`${destination}.part`, { force: true });
  }

  get bytesWritten(): number {
    return this.written;
  }

  async write(chunk: Buffer): Promise<void> {
    await this.handle.write(chunk);
    this.hash.update(chunk);
    this.written += chunk.length;
  }

  /** Closes the file without finishing it (a resumable download keeps its .part). */
  async pause(): Promise<void> {
    await this.handle.close();
  }

  async finish(): Promise<DownloadedFirmware> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.partPath, this.destination);
    return { path: this.destination, size: this.written, sha256: this.hash.digest('hex') };
  }
}
