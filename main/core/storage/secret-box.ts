import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { ConfigError, StationError } from '../errors.ts';
import { dataFolder } from './data-folder.ts';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for secrets at rest (api keys, CIKs, cloud passwords). Each
 * value gets a fresh IV; the associated data binds a ciphertext to where it
 * belongs (e.g. "unit:42:credentials"), so a value copied into another row
 * does not decrypt.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
    this.key = key;
  }

  seal(plaintext: string, associatedData: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Uint8Array, associatedData: string): string {
    const data = Buffer.from(sealed);
    if (data.length < 1 + IV_BYTES + TAG_BYTES || data[0] !== VERSION) throw this.failure();
    const iv = data.subarray(1, 1 + IV_BYTES);
    const tag = data.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(data.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw this.failure();
    }
  }

  private failure(): StationError {
    return new StationError('SECRET_UNREADABLE', 'a stored secret could not be decrypted', {
      hint: 'The data directory was opened with a different key (station.key or the app keychain); restore the original key.',
    });
  }
}

/**
 * The command line's key: 32 random bytes in <dataDir>/station.key, mode 0600.
 * A key file others can read is refused rather than used. (The desktop app
 * keeps its key with Electron's safeStorage instead.)
 */
export async function loadOrCreateKeyFile(dataDir: string): Promise<Buffer> {
  const existing = await loadKeyFile(dataDir);
  if (existing) return existing;
  const path = dataFolder(dataDir).keyFile;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  await writeFile(path, key.toString('base64'), { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  return key;
}

/** The data folder's key if it has one (tools that only read never create one); undefined when there is none. */
export async function loadKeyFile(dataDir: string): Promise<Buffer | undefined> {
  const path = dataFolder(dataDir).keyFile;
  const existing = await stat(path).catch(() => undefined);
  if (!existing) return undefined;
  if (process.platform !== 'win32' && (existing.mode & 0o077) !== 0) {
    throw new ConfigError(`the key file ${path} can be read by other users`, { hint: `Run "chmod 600 ${path}".` });
  }
  const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
  if (key.length !== 32) throw new ConfigError(`the key file ${path} is damaged (not 32 bytes of base64)`, { hint: 'Restore it from backup; secrets stored with it cannot be read without it.' });
  return key;
}
