import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudAdapter, ThingCredentials, VersionInfo } from '../cloud/cloud-adapter.ts';
import type { FirmwareImage } from '../devices/driver.ts';
import { StationError } from '../errors.ts';
import type { Journal } from '../storage/journal.ts';
import type { TransferProgress } from '../transfer/progress.ts';
import { Limiter } from './limiter.ts';

export interface FirmwareRequest {
  credentials: ThingCredentials;
  version: VersionInfo;
  onProgress?: (progress: TransferProgress) => void;
  signal?: AbortSignal;
}

/**
 * Firmware images on disk, named by their SHA-256 and indexed in the journal
 * by cloud version. All ports share one download per version (concurrent
 * requests wait for the same one), and every use re-reads and re-hashes the
 * file, so a damaged cache is noticed and fetched again, never flashed.
 */
export class FirmwareCache {
  private readonly dir: string;
  private readonly journal: Journal;
  private readonly adapter: CloudAdapter;
  private readonly downloads = new Map<string, Promise<FirmwareImage>>();
  /** Different versions download side by side only up to concurrency.downloads. */
  private readonly limiter: Limiter;
  /** Cloud downloads made, for tests and the cloud-economy benchmark. */
  downloadCount = 0;

  constructor(options: { dir: string; journal: Journal; adapter: CloudAdapter; maxConcurrentDownloads?: number }) {
    this.limiter = new Limiter(options.maxConcurrentDownloads ?? 2);
    this.dir = options.dir;
    this.journal = options.journal;
    this.adapter = options.adapter;
  }

  /** Removes partial downloads a killed station left behind; finished images are kept. */
  async sweep(): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const leftovers = names.filter((name) => name.startsWith('download-'));
    await Promise.all(leftovers.map((name) => rm(join(this.dir, name), { force: true })));
    return leftovers.length;
  }

  /** The cache key of a cloud version. */
  keyOf(versionId: string): string {
    return `${this.adapter.backend}:${versionId}`;
  }

  /** The verified image of a version if it is cached (works offline), else undefined. */
  async cached(versionId: string): Promise<FirmwareImage | undefined> {
    const key = this.keyOf(versionId);
    const entry = this.journal.cachedFirmware(key);
    if (!entry) return undefined;
    const data = await readFile(entry.path).catch(() => undefined);
    const sha256 = data ? createHash('sha256').update(data).digest('hex') : undefined;
    if (!data || sha256 !== entry.sha256 || data.length !== entry.size) {
      // Missing or damaged on disk: forget it so it is downloaded again.
      this.journal.forgetFirmware(key);
      return undefined;
    }
    return { data, sha256, versionId };
  }

  /** The image of a cloud version: from the cache, or downloaded once for everyone who asks meanwhile. */
  async get(request: FirmwareRequest): Promise<FirmwareImage> {
    const hit = await this.cached(request.version.id);
    if (hit) return hit;
    const key = this.keyOf(request.version.id);
    let download = this.downloads.get(key);
    if (!download) {
      download = this.limiter.run(() => this.download(request)).finally(() => this.downloads.delete(key));
      this.downloads.set(key, download);
    }
    return download;
  }

  /** A firmware file pinned in the line configuration (for clouds without firmware); hashed on every use. */
  async pinned(path: string, versionId: string): Promise<FirmwareImage> {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (error) {
      throw new StationError('FIRMWARE_MISSING', `the pinned firmware file ${path} could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
        hint: 'Fix firmware.path in the line configuration.',
      });
    }
    if (data.length === 0) throw new StationError('FIRMWARE_MISSING', `the pinned firmware file ${path} is empty`);
    return { data, sha256: createHash('sha256').update(data).digest('hex'), versionId };
  }

  private async download(request: FirmwareRequest): Promise<FirmwareImage> {
    await mkdir(this.dir, { recursive: true });
    const temporary = join(this.dir, `download-${randomBytes(6).toString('hex')}`);
    this.downloadCount++;
    const result = await this.adapter.downloadFirmware(request.credentials, request.version, {
      destination: temporary,
      onProgress: request.onProgress,
      signal: request.signal,
    });
    const path = join(this.dir, `${result.sha256}.bin`);
    await rename(temporary, path);
    this.journal.cacheFirmware({ versionKey: this.keyOf(request.version.id), sha256: result.sha256, size: result.size, path });
    const image = await this.cached(request.version.id);
    if (!image) {
      await rm(path, { force: true });
      throw new StationError('FIRMWARE_DAMAGED', `the firmware of version ${request.version.id} changed on disk right after download`, { retryable: true });
    }
    return image;
  }
}
