import { randomBytes } from 'node:crypto';
import { safeStorage } from 'electron';
import Store from 'electron-store';
import type { SettingsStore } from '../core/desk/desk-settings.ts';
import { loadOrCreateKeyFile } from '../core/storage/secret-box.ts';

const store = new Store<Record<string, unknown>>({ name: 'station' });

/** The desk's settings in electron-store (the secret in them is already sealed by the desk). */
export function electronSettingsStore(): SettingsStore {
  return {
    read: () => store.get('settings'),
    write: (settings) => store.set('settings', settings),
  };
}

/**
 * The key that encrypts secrets at rest, itself encrypted with the OS
 * keychain through safeStorage. Where the OS offers no keychain (a Linux
 * desktop without one), the data folder's 0600 key file is used instead, as
 * the command line does.
 */
export async function electronSecretKey(dataDir: string): Promise<Buffer> {
  if (!safeStorage.isEncryptionAvailable()) return loadOrCreateKeyFile(dataDir);
  const sealed = store.get('sealedKey');
  if (typeof sealed === 'string') return Buffer.from(safeStorage.decryptString(Buffer.from(sealed, 'base64')), 'base64');
  const key = randomBytes(32);
  store.set('sealedKey', safeStorage.encryptString(key.toString('base64')).toString('base64'));
  return key;
}
