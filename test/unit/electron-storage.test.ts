import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';

type Backend = 'basic_text' | 'gnome_libsecret' | 'kwallet' | 'kwallet5' | 'kwallet6' | 'unknown';

// The OS keychain, faked: a reversible but visible seal, tagged with the backend that sealed it, so a
// blob sealed by one backend does not open under another (as with Chromium's v10/v11 prefixes).
const keychain = vi.hoisted(() => {
  const state = { backend: 'gnome_libsecret' as string, available: true, rotate: false, generation: 1 };
  const refuseSync = () => {
    throw new Error('the synchronous safeStorage API is deprecated in Electron 45');
  };
  return {
    state,
    safeStorage: {
      getSelectedStorageBackend: () => state.backend,
      isAsyncEncryptionAvailable: async () => state.available,
      encryptStringAsync: async (text: string) => Buffer.from(`sealed:${state.backend}:${state.generation}:${Buffer.from(text).toString('hex')}`),
      decryptStringAsync: async (sealed: Buffer) => {
        const [tag, backend, , hex] = sealed.toString().split(':');
        if (tag !== 'sealed' || backend !== state.backend) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
        return { result: Buffer.from(hex!, 'hex').toString(), shouldReEncrypt: state.rotate };
      },
      isEncryptionAvailable: refuseSync,
      encryptString: refuseSync,
      decryptString: refuseSync,
    },
  };
});
// electron-store itself is real (a real file); only Electron's own modules are faked.
vi.mock('electron', () => ({ safeStorage: keychain.safeStorage, default: {} }));

const { electronSecretKey, openAppStore } = await import('../../main/electron/app-storage.ts');
const { loadOrCreateKeyFile } = await import('../../main/core/storage/secret-box.ts');

const onLinux = process.platform === 'linux';
const mode = (path: string) => statSync(path).mode & 0o777;
const storeFile = (dir: string) => join(dir, 'station.json');
const storedJson = (dir: string) => JSON.parse(readFileSync(storeFile(dir), 'utf8')) as Record<string, unknown>;
const newDataDir = () => join(mkdtempSync(join(tmpdir(), 'app-key-')), 'userData');

describe('the app keeps its secrets key (electron mocked, electron-store real)', () => {
  let dir: string;

  beforeEach(() => {
    Object.assign(keychain.state, { backend: 'gnome_libsecret', available: true, rotate: false, generation: 1 });
    dir = newDataDir();
  });

  it('seals a new 32-byte key with the asynchronous safeStorage API and finds the same key again', async () => {
    const key = await electronSecretKey(openAppStore(dir), dir);
    expect(key).toHaveLength(32);
    const stored = storedJson(dir).sealedKey as string;
    expect(Buffer.from(stored, 'base64').toString()).toMatch(/^sealed:gnome_libsecret:1:/);
    expect(readFileSync(storeFile(dir), 'utf8')).not.toContain(key.toString('base64'));
    expect(existsSync(join(dir, 'station.key'))).toBe(false);
    expect((await electronSecretKey(openAppStore(dir), dir)).equals(key)).toBe(true);
  });

  it.runIf(process.platform !== 'win32')('writes its store file 0600 in a 0700 folder, and narrows a file an earlier version left 0644', async () => {
    await electronSecretKey(openAppStore(dir), dir);
    expect(mode(storeFile(dir))).toBe(0o600);
    expect(mode(dir)).toBe(0o700);

    const old = newDataDir();
    mkdirSync(old, { recursive: true, mode: 0o755 });
    writeFileSync(storeFile(old), '{"settings":{}}', { mode: 0o644 });
    openAppStore(old);
    expect(mode(storeFile(old))).toBe(0o600);
    expect(mode(old)).toBe(0o700);
  });

  it.runIf(onLinux).each<Backend>(['basic_text', 'unknown'])('uses the 0600 key file, never safeStorage, when the Linux backend is %s', async (backend) => {
    keychain.state.backend = backend;
    const key = await electronSecretKey(openAppStore(dir), dir);
    expect(existsSync(storeFile(dir)) ? storedJson(dir).sealedKey : undefined).toBeUndefined();
    expect(mode(join(dir, 'station.key'))).toBe(0o600);
    expect((await loadOrCreateKeyFile(dir)).equals(key)).toBe(true);
  });

  it('uses the key file where the OS offers no encryption at all', async () => {
    keychain.state.available = false;
    const key = await electronSecretKey(openAppStore(dir), dir);
    expect(existsSync(storeFile(dir)) ? storedJson(dir).sealedKey : undefined).toBeUndefined();
    expect((await loadOrCreateKeyFile(dir)).equals(key)).toBe(true);
  });

  it.runIf(onLinux)('moves a key sealed under basic_text by an earlier version to the key file, keeping the same key', async () => {
    keychain.state.backend = 'basic_text';
    const store = openAppStore(dir);
    const key = Buffer.alloc(32, 9);
    store.set('sealedKey', (await keychain.safeStorage.encryptStringAsync(key.toString('base64'))).toString('base64'));
    expect((await electronSecretKey(store, dir)).equals(key)).toBe(true);
    expect(storedJson(dir).sealedKey).toBeUndefined();
    expect(mode(join(dir, 'station.key'))).toBe(0o600);
    expect((await electronSecretKey(openAppStore(dir), dir)).equals(key)).toBe(true);
  });

  it('adopts the key file of a session without a keychain once a keychain protects it, and removes the plain copy', async () => {
    const key = await loadOrCreateKeyFile(dir);
    expect((await electronSecretKey(openAppStore(dir), dir)).equals(key)).toBe(true);
    expect(existsSync(join(dir, 'station.key'))).toBe(false);
    expect((await electronSecretKey(openAppStore(dir), dir)).equals(key)).toBe(true);
  });

  it('seals the key again when the keychain says its own key rotated', async () => {
    const store = openAppStore(dir);
    const key = await electronSecretKey(store, dir);
    expect(Buffer.from(storedJson(dir).sealedKey as string, 'base64').toString()).toMatch(/^sealed:gnome_libsecret:1:/);
    Object.assign(keychain.state, { rotate: true, generation: 2 });
    expect((await electronSecretKey(store, dir)).equals(key)).toBe(true);
    expect(Buffer.from(storedJson(dir).sealedKey as string, 'base64').toString()).toMatch(/^sealed:gnome_libsecret:2:/);
  });

  it.runIf(onLinux)('refuses to start, and creates nothing, when the sealed key cannot be opened in this session', async () => {
    const store = openAppStore(dir);
    await electronSecretKey(store, dir);
    keychain.state.backend = 'basic_text'; // e.g. started outside the desktop session that holds the keyring
    await expect(electronSecretKey(store, dir)).rejects.toMatchObject({ code: 'SECRET_KEY_SEALED', message: expect.stringContaining('basic_text') });
    expect(existsSync(join(dir, 'station.key'))).toBe(false);
    expect(storedJson(dir).sealedKey).toEqual(expect.any(String));
  });
});
