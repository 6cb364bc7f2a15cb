import { createHash, randomBytes, type Hash } from 'node:crypto';
import { link, mkdir, open, readFile, realpath, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { FirmwareChunk, FirmwareUploadStart } from '../../../contract/station-contract.ts';
import { ConfigError, StationError } from '../errors.ts';
import type { StationPolicy } from './station-policy.ts';

interface Upload {
  name: string;
  size: number;
  received: number;
  temporary: string;
  folder: string;
  file: FileHandle;
  hash: Hash;
  lastActivity: number;
  writing: boolean;
}

export interface UploadOptions {
  /** An upload that gets no chunk for this long is dropped with its partial file (default 60 s). */
  idleMs?: number;
  /** Uploads under way at once (default 2). */
  maxOpen?: number;
  now?: () => number;
}

/**
 * Firmware files a screen sends, in chunks the contract bounds, into the
 * station policy's firmware folder: under a safe name, never over another
 * file, no larger than the policy allows. A partial file lives under a
 * hidden name until its last byte arrived, and is removed if the upload
 * fails or goes quiet.
 */
export class FirmwareUploads {
  private readonly uploads = new Map<string, Upload>();
  private readonly policy: StationPolicy;
  private readonly idleMs: number;
  private readonly maxOpen: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(policy: StationPolicy, options: UploadOptions = {}) {
    this.policy = policy;
    this.idleMs = options.idleMs ?? 60_000;
    this.maxOpen = options.maxOpen ?? 2;
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => void this.sweep(), Math.min(this.idleMs, 10_000));
    this.sweeper.unref();
  }

  async start(request: FirmwareUploadStart): Promise<{ upload: string; name: string }> {
    const name = safeFirmwareName(request.name);
    if (request.size > this.policy.maxFirmwareBytes) {
      throw new ConfigError(`firmware upload ${name}: the file is ${request.size} bytes; ${this.policy.source} allows at most ${this.policy.maxFirmwareBytes} (maxFirmwareBytes)`);
    }
    if (this.uploads.size >= this.maxOpen) {
      throw new StationError('BUSY', `firmware upload ${name}: ${this.uploads.size} uploads are already under way`, { hint: 'Wait for them to finish, then upload again.', retryable: true });
    }
    await mkdir(this.policy.firmwareFolder, { recursive: true, mode: 0o700 });
    const folder = await realpath(this.policy.firmwareFolder);
    const id = randomBytes(12).toString('hex');
    const temporary = join(folder, `.upload-${id}.part`);
    const file = await open(temporary, 'wx', 0o600);
    this.uploads.set(id, { name, size: request.size, received: 0, temporary, folder, file, hash: createHash('sha256'), lastActivity: this.now(), writing: false });
    return { upload: id, name };
  }

  /** Takes the next chunk; the last one moves the file into place. Any refusal drops the upload: start again. */
  async chunk(chunk: FirmwareChunk): Promise<{ received: number; done: boolean; name: string; sha256?: string }> {
    const upload = this.uploads.get(chunk.upload);
    if (!upload) throw new ConfigError('firmware upload: this upload is unknown, finished, failed or expired', { hint: 'Upload the file again.' });
    if (upload.writing) throw new StationError('BUSY', `firmware upload ${upload.name}: the previous chunk is still being written`, { hint: 'Send chunks one after the other.' });
    upload.writing = true;
    try {
      const data = Buffer.from(chunk.data, 'base64');
      if (chunk.offset !== upload.received) throw new ConfigError(`firmware upload ${upload.name}: a chunk at byte ${chunk.offset}, expected byte ${upload.received}`);
      if (upload.received + data.length > upload.size) throw new ConfigError(`firmware upload ${upload.name}: more bytes than the ${upload.size} announced`);
      await upload.file.write(data, 0, data.length, upload.received);
      upload.hash.update(data);
      upload.received += data.length;
      upload.lastActivity = this.now();
      if (upload.received < upload.size) return { received: upload.received, done: false, name: upload.name };
      const sha256 = await this.finish(upload);
      return { received: upload.received, done: true, name: upload.name, sha256 };
    } catch (error) {
      await this.drop(chunk.upload);
      throw error;
    } finally {
      upload.writing = false;
    }
  }

  /** Drops every upload under way, with its partial file. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.uploads.keys()].map((id) => this.drop(id)));
  }

  private async finish(upload: Upload): Promise<string> {
    await upload.file.sync();
    await upload.file.close();
    const sha256 = upload.hash.digest('hex');
    const destination = join(upload.folder, upload.name);
    try {
      // link() never replaces a file that is there: a line may be flashing it.
      await link(upload.temporary, destination);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const existing = await readFile(destination).catch(() => undefined);
      if (!existing || createHash('sha256').update(existing).digest('hex') !== sha256) {
        throw new ConfigError(`firmware upload ${upload.name}: a different file of that name is already in the firmware folder`, { hint: 'Rename the file (e.g. with its version) and upload it again.' });
      }
    }
    this.uploads.delete(this.idOf(upload));
    await rm(upload.temporary, { force: true });
    return sha256;
  }

  private idOf(upload: Upload): string {
    for (const [id, candidate] of this.uploads) if (candidate === upload) return id;
    return '';
  }

  private async drop(id: string): Promise<void> {
    const upload = this.uploads.get(id);
    if (!upload) return;
    this.uploads.delete(id);
    await upload.file.close().catch(() => undefined);
    await rm(upload.temporary, { force: true });
  }

  private async sweep(): Promise<void> {
    const now = this.now();
    for (const [id, upload] of this.uploads) if (!upload.writing && now - upload.lastActivity > this.idleMs) await this.drop(id);
  }
}

/** A file name that stays in its folder: no path, no leading dot, only letters, digits, ".", "_" and "-". */
export function safeFirmwareName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  const safe = base
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[.-]+/, '')
    .slice(0, 128);
  return safe === '' ? 'firmware.bin' : safe;
}
