import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const fake = vi.hoisted(() => {
  const data = new Map<string, unknown>();
  const safeStorage = {
    available: true,
    isEncryptionAvailable: () => safeStorage.available,
    // Reversible but not the identity, so the test can tell sealed from plain.
    encryptString: (text: string) => Buffer.from(`sealed:${Buffer.from(text).toString('hex')}`),
    decryptString: (sealed: Buffer) => Buffer.from(sealed.toString().replace(/^sealed:/, ''), 'hex').toString(),
  };
  class Store {
    get(key: string) {
      return data.get(key);
    }
    set(key: string, value: unknown) {
      data.set(key, value);
    }
  }
  return { data, safeStorage, Store };
});
vi.mock('electron', () => ({ safeStorage: fake.safeStorage }));
vi.mock('electron-store', () => ({ default: fake.Store }));

describe('the app keeps its secrets key with safeStorage (electron mocked)', () => {
  beforeEach(() => {
    fake.data.clear();
    fake.safeStorage.available = true;
  });

  it('creates a 32-byte key, stores it only sealed by the OS keychain, and finds the same key again', async () => {
    const { electronSecretKey } = await import('../../main/electron/app-storage.ts');
    const dir = mkdtempSync(join(tmpdir(), 'app-key-'));
    const key = await electronSecretKey(dir);
    expect(key).toHaveLength(32);
    const stored = fake.data.get('sealedKey') as string;
    expect(Buffer.from(stored, 'base64').toString()).toMatch(/^sealed:/);
    expect(stored).not.toContain(key.toString('base64'));
    expect((await electronSecretKey(dir)).equals(key)).toBe(true);
  });

  it('falls back to the 0600 key file where the OS has no keychain', async () => {
    fake.safeStorage.available = false;
    const { electronSecretKey } = await import('../../main/electron/app-storage.ts');
    const dir = mkdtempSync(join(tmpdir(), 'app-key-'));
    const key = await electronSecretKey(dir);
    expect(key).toHaveLength(32);
    expect(fake.data.has('sealedKey')).toBe(false);
    const { loadOrCreateKeyFile } = await import('../../main/core/storage/secret-box.ts');
    expect((await loadOrCreateKeyFile(dir)).equals(key)).toBe(true);
  });
});
