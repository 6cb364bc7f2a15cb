import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import type { Journal } from '../storage/journal.ts';

/** scrypt's cost: about 50 ms on a station, enough to make guessing a short PIN slow, small enough for a person waiting. */
const COST = { N: 1 << 15, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 } as const;

/** Where the data folder's journal keeps the PIN's hash (its settings table); the PIN itself is kept nowhere. */
export const ENGINEER_PIN_SETTING = 'engineer-pin';

/** PINs a person can type on a line, and long enough not to be guessed at once. */
export const PIN_LENGTH = { min: 4, max: 64 } as const;

/**
 * The engineer PIN is kept only as a scrypt hash ("scrypt$N$r$p$salt$hash",
 * base64), never in plain text; a check compares in constant time.
 */
export async function hashPin(pin: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(pin, salt, COST.N, COST.r, COST.p);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await derive(pin, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function derive(pin: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(pin.normalize('NFKC'), salt, COST.keyLength, { N, r, p, maxmem: COST.maxmem }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** The stored hash of the engineer PIN; undefined when none is set (operator mode off). */
export function storedPinHash(journal: Journal): string | undefined {
  return journal.setting(ENGINEER_PIN_SETTING);
}

/** Sets the engineer PIN: only its scrypt hash goes to the journal. */
export async function storeEngineerPin(journal: Journal, pin: string): Promise<void> {
  if (pin.length < PIN_LENGTH.min || pin.length > PIN_LENGTH.max) {
    throw new ConfigError(`the engineer PIN must be ${PIN_LENGTH.min} to ${PIN_LENGTH.max} characters long`, { hint: 'Choose another PIN.' });
  }
  journal.setSetting(ENGINEER_PIN_SETTING, await hashPin(pin));
}

/** Removes the engineer PIN: operator mode is off, every screen may change the line again (as its transport allows). */
export function clearEngineerPin(journal: Journal): void {
  journal.deleteSetting(ENGINEER_PIN_SETTING);
}
