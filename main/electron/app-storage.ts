import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import { safeStorage } from 'electron';
import Store from 'electron-store';
import type { SettingsStore } from '../core/desk/desk-settings.ts';
import { StationError } from '../core/errors.ts';
import { dataFolder } from '../core/storage/data-folder.ts';
import { loadOrCreateKeyFile } from '../core/storage/secret-box.ts';

/** The part of electron-store the app uses: its settings and its sealed key. */
export interface AppStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** The part of Electron's safeStorage the key needs: the asynchronous API (the synchronous one is deprecated in Electron 45). */
export type Keychain = Pick<typeof safeStorage, 'getSelectedStorageBackend' | 'isAsyncEncryptionAvailable' | 'encryptStringAsync' | 'decryptStringAsync'>;

const SEALED_KEY = 'sealedKey';
const STORE_NAME = 'station';
const ownerOnly = process.platform !== 'win32';

/**
 * electron-store's file in the data folder (it holds the sealed key and the
 * sealed settings secret): the folder 0700, the file 0600, including a file
 * an earlier version left 0644.
 */
export function openAppStore(dataDir: string): AppStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (ownerOnly) chmodSync(dataDir, 0o700);
  const store = new Store<Record<string, unknown>>({ name: STORE_NAME, cwd: dataDir, configFileMode: 0o600 });
  if (ownerOnly && existsSync(store.path)) chmodSync(store.path, 0o600);
  return store;
}

/** The desk's settings in electron-store (the secret in them is already sealed by the desk). */
export function electronSettingsStore(store: AppStore): SettingsStore {
  return {
    read: () => store.get('settings'),
    write: (settings) => store.set('settings', settings),
  };
}

/**
 * Linux without a keychain service falls back to `basic_text`, which seals
 * with a password written in Chromium's source: as good as plain text. There,
 * and before a backend is chosen (`unknown`), the 0600 key file is the safer place.
 */
async function keychainProtects(keychain: Keychain): Promise<boolean> {
  if (process.platform === 'linux' && ['basic_text', 'unknown'].includes(keychain.getSelectedStorageBackend())) return false;
  return keychain.isAsyncEncryptionAvailable();
}

/**
 * The key that encrypts secrets at rest (settings and the journal). It lives
 * in exactly one place: sealed by the OS keychain through safeStorage where
 * one protects it, else in the data folder's 0600 key file, as the command
 * line keeps it. A key found in the other place (the session changed) moves
 * over instead of being replaced, since a new key would orphan every secret.
 */
export async function electronSecretKey(store: AppStore, dataDir: string, keychain: Keychain = safeStorage): Promise<Buffer> {
  const sealed = store.get(SEALED_KEY);
  if (!(await keychainProtects(keychain))) {
    if (typeof sealed === 'string') return moveSealedKeyToFile(store, dataDir, keychain, sealed);
    return loadOrCreateKeyFile(dataDir);
  }
  if (typeof sealed === 'string') {
    const { key, shouldReEncrypt } = await unseal(keychain, sealed);
    // The keychain rotated its key: seal ours again under the new one.
    if (shouldReEncrypt) store.set(SEALED_KEY, await seal(keychain, key));
    return key;
  }
  const keyFile = dataFolder(dataDir).keyFile;
  const adopted = (await stat(keyFile).catch(() => undefined)) ? await loadOrCreateKeyFile(dataDir) : undefined;
  const key = adopted ?? randomBytes(32);
  store.set(SEALED_KEY, await seal(keychain, key));
  if (adopted) await rm(keyFile);
  return key;
}

async function seal(keychain: Keychain, key: Buffer): Promise<string> {
  return (await keychain.encryptStringAsync(key.toString('base64'))).toString('base64');
}

async function unseal(keychain: Keychain, sealed: string): Promise<{ key: Buffer; shouldReEncrypt: boolean }> {
  let opened: Awaited<ReturnType<Keychain['decryptStringAsync']>>;
  try {
    opened = await keychain.decryptStringAsync(Buffer.from(sealed, 'base64'));
  } catch (error) {
    throw new StationError('SECRET_KEY_SEALED', `the secrets key is sealed by an OS keychain this session cannot open (${describeBackend(keychain)})`, {
      hint: 'Start the station in the desktop session (user and keyring) that first saved its settings; a new key would make the saved secrets and the journal\'s credentials unreadable.',
      cause: error,
    });
  }
  const key = Buffer.from(opened.result, 'base64');
  if (key.length !== 32) throw new StationError('SECRET_KEY_DAMAGED', 'the sealed secrets key in the app\'s settings is damaged (not 32 bytes)', { hint: 'Restore station.json in the app\'s data folder from a backup.' });
  return { key, shouldReEncrypt: opened.shouldReEncrypt };
}

/** A key sealed while a keychain seemed to protect it goes to the key file once the keychain is only `basic_text`. */
async function moveSealedKeyToFile(store: AppStore, dataDir: string, keychain: Keychain, sealed: string): Promise<Buffer> {
  const { key } = await unseal(keychain, sealed);
  const keyFile = dataFolder(dataDir).keyFile;
  if (await stat(keyFile).catch(() => undefined)) {
    if (!(await loadOrCreateKeyFile(dataDir)).equals(key)) {
      throw new StationError('SECRET_KEY_CONFLICT', `the app holds two different secrets keys: one sealed in station.json and one in ${keyFile}`, {
        hint: 'Move the key file aside if the app\'s settings were saved after it, or delete "sealedKey" from station.json if they were saved before; then start again.',
      });
    }
  } else {
    await writeFile(keyFile, key.toString('base64'), { mode: 0o600, flag: 'wx' });
    if (ownerOnly) chmodSync(keyFile, 0o600);
  }
  store.delete(SEALED_KEY);
  return key;
}

function describeBackend(keychain: Keychain): string {
  return process.platform === 'linux' ? `Linux backend ${keychain.getSelectedStorageBackend()}` : process.platform;
}
