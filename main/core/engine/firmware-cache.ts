import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Stats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CloudAdapter, DownloadedFirmware, ThingCredentials, VersionInfo, VersionRef } from '../cloud/cloud-adapter.ts';
import { DEFAULT_MAX_FIRMWARE_BYTES } from '../cloud/limits.ts';
import { formatBytes } from '../format.ts';
import type { FirmwareImage } from '../devices/driver.ts';
import { partedFirmwareImage } from '../devices/firmware-image.ts';
import { readFlasherArgs } from '../devices/flasher-args.ts';
import { CancelledError, isStationError, StationError } from '../errors.ts';
import type { Journal } from '../storage/journal.ts';
import type { TransferProgress } from '../transfer/progress.ts';
import { Limiter } from '../limiter.ts';
import { lastTarget } from './pipeline/last-target.ts';
import { fileIdentity, SettleWait, type SettleOptions } from './settled-file.ts';

export interface FirmwareRequest {
  credentials: ThingCredentials;
  version: VersionInfo;
  onProgress?: (progress: TransferProgress) => void;
  signal?: AbortSignal;
}

/** A download in flight, shared by the ports waiting for the same version. */
interface SharedDownload {
  download: Promise<FirmwareImage>;
  waiters: Set<FirmwareRequest>;
  controller: AbortController;
}

export interface FirmwareCacheOptions {
  dir: string;
  journal: Journal;
  adapter: CloudAdapter;
  maxConcurrentDownloads?: number;
  /** The line's maxFirmwareBytes: the largest image downloaded, kept or pinned. */
  maxFirmwareBytes?: number;
  /** How long a pinned file must stand unchanged before it is read, and how long to wait for that (settled-file.ts; tests shorten them). */
  pinnedSettle?: Pick<SettleOptions, 'settleMs' | 'timeoutMs'>;
}

/** One use of a pinned file: its port's cancel, and who to tell that it waits for the file to stand still. */
export type PinnedWait = Pick<SettleOptions, 'signal' | 'onWaiting'>;

/**
 * Firmware images on disk, named by their SHA-256 and indexed in the journal
 * by cloud version. All ports share one download per version (concurrent
 * requests wait for the same one) and one verified image in memory per
 * version while any port holds it. Every use still re-hashes the file on
 * disk (streamed, without a second copy), so a damaged cache is noticed and
 * fetched again, never flashed.
 */
export class FirmwareCache {
  private readonly dir: string;
  private readonly journal: Journal;
  private readonly adapter: CloudAdapter;
  private readonly maxFirmwareBytes: number;
  private readonly settle: Pick<SettleOptions, 'settleMs' | 'timeoutMs'>;
  private readonly downloads = new Map<string, SharedDownload>();
  /** The image each port flashes, shared: held weakly, so it is freed once no port holds it. */
  private readonly images = new Map<string, WeakRef<FirmwareImage>>();
  /** Checks under way, so ports asking at the same moment share one read. */
  private readonly checks = new Map<string, Promise<FirmwareImage | undefined>>();
  /** Different versions download side by side only up to concurrency.downloads. */
  private readonly limiter: Limiter;
  /** Cloud downloads made, for tests and the cloud-economy benchmark. */
  downloadCount = 0;

  /** Versions being downloaded or waiting for their turn (concurrency.downloads). */
  get downloadsUnderWay(): number {
    return this.downloads.size;
  }

  constructor(options: FirmwareCacheOptions) {
    this.limiter = new Limiter(options.maxConcurrentDownloads ?? 2);
    this.dir = options.dir;
    this.journal = options.journal;
    this.adapter = options.adapter;
    this.maxFirmwareBytes = options.maxFirmwareBytes ?? DEFAULT_MAX_FIRMWARE_BYTES;
    this.settle = options.pinnedSettle ?? {};
  }

  /**
   * Tidies the cache folder at start, so a station that runs for years does
   * not fill its disk: partial downloads a killed station left behind, the
   * entries of content re-uploaded since (an older revision of the same id in
   * the same cloud is never flashed again), and image files no entry names
   * (a cloud's entries dropped, an entry that failed to record). Every image
   * an entry names is kept, whichever cloud it came from: it may be that
   * cloud's only copy for offline flashing.
   */
  async sweep(): Promise<SweepResult> {
    const entries = this.journal.cachedFirmwareEntries();
    const superseded = new Set(supersededRevisions(entries.map((entry) => entry.versionKey), this.protectedKey()));
    for (const key of superseded) this.journal.forgetFirmware(key);
    const named = new Set(entries.filter((entry) => !superseded.has(entry.versionKey)).map((entry) => `${entry.sha256}.bin`));
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const partial = names.filter((name) => name.startsWith('download-'));
    const unnamed = names.filter((name) => IMAGE_FILE.test(name) && !named.has(name));
    await Promise.all([...partial, ...unnamed].map((name) => rm(join(this.dir, name), { force: true })));
    return { partial: partial.length, superseded: superseded.size, unnamed: unnamed.length };
  }

  /** The key of this cloud's last target: kept whatever its revision, as it is what an offline station flashes. */
  private protectedKey(): string | undefined {
    const target = lastTarget(this.journal, this.adapter.account);
    return target ? this.keyOf(target) : undefined;
  }

  /**
   * The cache key of a cloud version: the cloud it came from (its account:
   * backend, address and, for Exosite, vendor/model), its revision there if
   * it has one, and its id. Ids are only unique within one cloud (Exosite's
   * are names like "firmware.bin"), so another cloud's image of the same id
   * is never taken; and Exosite reuses an id for new bytes, so an image
   * cached for one upload is never taken for the next. The revision comes
   * before the id (accounts hold no "@"): no id can make one key read as another.
   */
  keyOf(version: VersionRef): string {
    return version.revision === undefined ? `${this.adapter.account}:${version.id}` : `${this.adapter.account}@${version.revision}:${version.id}`;
  }

  /** The verified image of a version if it is cached (works offline), else undefined. */
  async cached(version: VersionRef): Promise<FirmwareImage | undefined> {
    const key = this.keyOf(version);
    return this.once(key, async () => {
      const entry = this.journal.cachedFirmware(key);
      if (!entry) return undefined;
      const size = await fileSize(entry.path);
      const image = size === entry.size && size <= this.maxFirmwareBytes ? await this.load(key, entry.path, version.id, size, entry.sha256) : undefined;
      // Missing, damaged or over the limit on disk: forget it so it is downloaded again.
      if (!image) this.journal.forgetFirmware(key);
      return image;
    });
  }

  /** The image of a cloud version: from the cache, or downloaded once for everyone who asks meanwhile. */
  async get(request: FirmwareRequest): Promise<FirmwareImage> {
    const hit = await this.cached(request.version);
    if (hit) return hit;
    // Cancelled while the cache was checked: no download for nobody.
    if (request.signal?.aborted) throw new CancelledError('the firmware download was cancelled');
    const key = this.keyOf(request.version);
    let shared = this.downloads.get(key);
    if (!shared) {
      // The download belongs to no one port: each waiting port sees its progress, and only when all of them are cancelled is it stopped.
      const waiters = new Set<FirmwareRequest>();
      const controller = new AbortController();
      const onProgress = (progress: TransferProgress) => waiters.forEach((waiter) => waiter.onProgress?.(progress));
      // Cancelled by every port while it waits for its turn, it leaves the queue and never starts.
      const download = this.limiter.run(() => this.download({ ...request, onProgress, signal: controller.signal }), controller.signal);
      const entry: SharedDownload = { download, waiters, controller };
      void download.finally(() => this.forget(key, entry)).catch(() => undefined);
      this.downloads.set(key, entry);
      shared = entry;
    }
    return this.waitFor(key, shared, request);
  }

  /** One port's wait for a shared download: its own cancel ends its wait only, and the download once nobody waits. */
  private waitFor(key: string, shared: SharedDownload, request: FirmwareRequest): Promise<FirmwareImage> {
    if (request.signal?.aborted) return Promise.reject(new CancelledError('the firmware download was cancelled'));
    shared.waiters.add(request);
    return new Promise<FirmwareImage>((resolve, reject) => {
      const leave = () => {
        shared.waiters.delete(request);
        request.signal?.removeEventListener('abort', cancelled);
      };
      const cancelled = () => {
        leave();
        if (shared.waiters.size === 0) {
          this.forget(key, shared);
          shared.controller.abort();
        }
        reject(new CancelledError('the firmware download was cancelled'));
      };
      request.signal?.addEventListener('abort', cancelled, { once: true });
      shared.download.then(
        (image) => (leave(), resolve(image)),
        (error: unknown) => (leave(), reject(error as Error)),
      );
    });
  }

  private forget(key: string, shared: SharedDownload): void {
    if (this.downloads.get(key) === shared) this.downloads.delete(key);
  }

  /**
   * A firmware file pinned in the line configuration (for clouds without
   * firmware); hashed on every use. Its size is checked before anything is
   * read: a file over maxFirmwareBytes, or one that is not a regular file
   * (a device, a pipe), is refused without being read. A file being written
   * (copied over in place) is waited for until it stands still, and read
   * again if it changed under the read (settled-file.ts): a half-written
   * image is never handed out.
   */
  async pinned(path: string, versionId: string, wait: PinnedWait = {}): Promise<FirmwareImage> {
    const missing = (what: string) => new StationError('FIRMWARE_MISSING', `the pinned firmware file ${path} ${what}`, { hint: 'Fix firmware.path in the line configuration.' });
    // An ESP-IDF build folder: flasher_args.json names the parts and their flash addresses.
    const build = basename(path) === 'flasher_args.json';
    const settle = new SettleWait({ ...this.settle, ...wait });
    const check = (file: Stats) => {
      if (!file.isFile()) throw missing('is not a regular file');
      if (!build) this.checkPinnedSize(`the pinned firmware file ${path}`, file.size);
    };
    const key = `file:${versionId}:${path}`;
    try {
      return await settle.read(path, check, async (file) => {
        if (file.size === 0) throw missing('is empty');
        if (build) return this.pinnedBuild(path, versionId, settle);
        // Callers that saw the same file share one read; one that saw it changed reads it afresh.
        return this.once(`${key}#${fileIdentity(file)}`, () => this.load(key, path, versionId, file.size));
      });
    } catch (error) {
      if (isStationError(error)) throw error;
      throw missing(`could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }

  /** The parts an ESP-IDF build's flasher_args.json names, as one image (read afresh on every use, like a pinned file, each part once it stands still). */
  private async pinnedBuild(path: string, versionId: string, settle: SettleWait): Promise<FirmwareImage> {
    const check = (part: string) => (file: Stats) => {
      if (!file.isFile()) throw new StationError('FIRMWARE_MISSING', `the build ${path}: ${part} is not a regular file`, { hint: 'Point the line at the flasher_args.json of a finished ESP-IDF build.' });
      this.checkPinnedSize(`the build ${path}: ${part}`, file.size);
    };
    const { parts } = await readFlasherArgs(path, (part) =>
      settle.read(part, check(part), async (file) => {
        const data = await readFile(part);
        // Shorter or longer than the stat said: it changed under the read, so read it again.
        return data.length === file.size ? data : undefined;
      }),
    );
    const size = parts.reduce((sum, part) => sum + part.data.length, 0);
    this.checkPinnedSize(`the build ${path}`, size);
    return partedFirmwareImage(parts, versionId, path);
  }

  /** A pinned file (or build) over maxFirmwareBytes is refused, from its size alone. */
  private checkPinnedSize(what: string, size: number): void {
    if (size <= this.maxFirmwareBytes) return;
    throw new StationError('FIRMWARE_TOO_LARGE', `${what} is ${formatBytes(size)}, more than the station accepts (maxFirmwareBytes: ${formatBytes(this.maxFirmwareBytes)})`, {
      hint: 'Check firmware.path in the line configuration; if the image is right, raise maxFirmwareBytes.',
    });
  }

  /** Runs one check per key at a time; callers arriving meanwhile share its result. */
  private once(key: string, check: () => Promise<FirmwareImage | undefined>): Promise<FirmwareImage | undefined> {
    let pending = this.checks.get(key);
    if (!pending) {
      pending = check().finally(() => this.checks.delete(key));
      this.checks.set(key, pending);
    }
    return pending;
  }

  /**
   * The image in a file of `size` bytes, verified against `sha256` when one is
   * expected. The image a port still holds is handed out again when the file
   * on disk still hashes to it; otherwise the file is read once more.
   */
  private async load(key: string, path: string, versionId: string, size: number, sha256?: string): Promise<FirmwareImage | undefined> {
    const held = this.images.get(key)?.deref();
    if (held && held.data.length === size && (sha256 === undefined || held.sha256 === sha256)) {
      if ((await hashFile(path)) === held.sha256) return held;
    }
    this.images.delete(key);
    const data = await readExactly(path, size);
    if (!data) return undefined;
    const digest = createHash('sha256').update(data).digest('hex');
    if (sha256 !== undefined && digest !== sha256) return undefined;
    const image: FirmwareImage = Object.freeze({ data, sha256: digest, versionId });
    this.images.set(key, new WeakRef(image));
    return image;
  }

  private async download(request: FirmwareRequest): Promise<FirmwareImage> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temporary = join(this.dir, `download-${randomBytes(6).toString('hex')}`);
    this.downloadCount++;
    let result: DownloadedFirmware;
    let path: string;
    try {
      result = await this.adapter.downloadFirmware!(request.credentials, request.version, {
        destination: temporary,
        onProgress: request.onProgress,
        signal: request.signal,
        maxBytes: this.maxFirmwareBytes,
      });
      path = join(this.dir, `${result.sha256}.bin`);
      await rename(temporary, path);
    } catch (error) {
      // An adapter keeps its .part to resume within one download (Exosite); this one is over, and the next has a new name:
      // left here, every failed download of a flaky shift would hold its bytes on disk until the station restarts.
      await Promise.all([rm(temporary, { force: true }), rm(`${temporary}.part`, { force: true })]);
      throw error;
    }
    this.journal.cacheFirmware({ versionKey: this.keyOf(request.version), sha256: result.sha256, size: result.size, path });
    const image = await this.cached(request.version);
    if (!image) {
      await rm(path, { force: true });
      throw new StationError('FIRMWARE_DAMAGED', `the firmware of version ${request.version.id} changed on disk right after download`, { retryable: true });
    }
    return image;
  }
}

/** What a sweep removed. */
export interface SweepResult {
  /** Partial downloads. */
  partial: number;
  /** Entries of content re-uploaded since. */
  superseded: number;
  /** Image files no entry named. */
  unnamed: number;
}

/** A cached image's file name: its SHA-256. */
const IMAGE_FILE = /^[0-9a-f]{64}\.bin$/;

/**
 * Keys of revisioned entries (`<account>@<revision>:<id>`, see keyOf) with a
 * newer revision of the same id in the same account, but `keep`.
 */
function supersededRevisions(keys: string[], keep: string | undefined): string[] {
  const newest = new Map<string, number>();
  const revisioned = keys.flatMap((key) => {
    const match = /^([^@]+)@(\d{1,15}):(.+)$/s.exec(key);
    if (!match) return [];
    const content = `${match[1]}:${match[3]}`;
    const revision = Number(match[2]);
    newest.set(content, Math.max(newest.get(content) ?? revision, revision));
    return [{ key, content, revision }];
  });
  return revisioned.filter((entry) => entry.key !== keep && entry.revision < newest.get(entry.content)!).map((entry) => entry.key);
}

async function fileSize(path: string): Promise<number | undefined> {
  const file = await stat(path).catch(() => undefined);
  return file?.isFile() ? file.size : undefined;
}

/** SHA-256 of a file, streamed: no copy of it in memory. */
async function hashFile(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch {
    return undefined;
  }
  return hash.digest('hex');
}

/** Exactly `size` bytes of a file (never more, whatever it holds now); undefined when it is shorter or unreadable. */
async function readExactly(path: string, size: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const data = Buffer.allocUnsafe(size);
    for (let offset = 0; offset < size; ) {
      const { bytesRead } = await handle.read(data, offset, size - offset, offset);
      if (bytesRead === 0) return undefined;
      offset += bytesRead;
    }
    return data;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}
