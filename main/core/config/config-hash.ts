import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { findCloudBackend } from '../cloud/backends.ts';
import type { LineConfig } from './line-config.ts';

/** What a secret's value becomes before the configuration is hashed. */
export const SECRET_MARKER = '<secret>';

/** Keys that hold a secret whatever the backend (its descriptor names its own, too). */
const SECRET_KEYS = /^(api[-_]?key|password|product[-_]?key|secret|token|cik)$/i;

/**
 * The line configuration's fingerprint, recorded with every attempt: the
 * SHA-256 of its canonical JSON (keys sorted, no whitespace) with every
 * secret's value replaced by SECRET_MARKER. The secret is left out so the
 * hash can be shown and exported (a short product key could otherwise be
 * found from it by trying them all) and so a rotated key is still the same
 * configuration; its place is kept, so a line with a secret and one without
 * differ.
 */
export function configHash(config: LineConfig): string {
  return createHash('sha256').update(canonicalJson(withoutSecrets(config))).digest('hex');
}

/** The configuration with every secret's value replaced by the marker. */
export function withoutSecrets(config: LineConfig): unknown {
  const secretKey = findCloudBackend(config.cloud.backend)?.settings.secret?.configKey;
  const cloud = Object.fromEntries(Object.entries(config.cloud).map(([key, value]) => [key, key === secretKey && value !== undefined ? SECRET_MARKER : value]));
  return maskByName({ ...config, cloud });
}

function maskByName(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskByName);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, SECRET_KEYS.test(key) && inner !== undefined ? SECRET_MARKER : maskByName(inner)]));
}

/** JSON with object keys sorted at every level and undefined values left out: one text per configuration. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const entries = Object.entries(value)
    .filter(([, inner]) => inner !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
}

/** This station's name in its records: the line's stationId, else the machine's host name. */
export function stationIdOf(config: Pick<LineConfig, 'stationId'>): string {
  return config.stationId ?? hostname();
}
