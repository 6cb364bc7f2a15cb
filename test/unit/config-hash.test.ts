import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, configHash, SECRET_MARKER, withoutSecrets } from '../../main/core/config/config-hash.ts';
import { lineConfigSchema } from '../../main/core/config/line-config.ts';

const line = (cloud: Record<string, unknown>, extra: Record<string, unknown> = {}) => lineConfigSchema.parse({ cloud, ports: ['/dev/ttyACM0', { path: '/dev/ttyACM1', slot: 'B' }], ...extra });

describe('the line configuration\'s hash, recorded with every attempt', () => {
  it('is the SHA-256 of the canonical JSON with the secret replaced by a marker, never of the secret', () => {
    const config = line({ backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080', productKey: 'pk-the-product-key-0001' });
    const masked = withoutSecrets(config) as { cloud: Record<string, unknown> };
    expect(masked.cloud.productKey).toBe(SECRET_MARKER);
    const text = canonicalJson(masked);
    expect(text).not.toContain('pk-the-product-key-0001');
    expect(configHash(config)).toBe(createHash('sha256').update(text).digest('hex'));
    expect(configHash(config)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('stays the same for a rotated secret or keys in another order, and changes with anything else', () => {
    const base = configHash(line({ backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080', productKey: 'pk-one-0000000000001' }));
    expect(configHash(line({ productKey: { env: 'PK' }, url: 'http://127.0.0.1:8080', backend: 'gadgetkeeper' }))).toBe(base);
    expect(configHash(line({ backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080' }))).not.toBe(base);
    expect(configHash(line({ backend: 'gadgetkeeper', url: 'http://127.0.0.1:8081', productKey: 'pk-one-0000000000001' }))).not.toBe(base);
    expect(configHash(line({ backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080', productKey: 'pk-one-0000000000001' }, { thingNameTemplate: 'T-{serial}' }))).not.toBe(base);
  });

  it('masks the secret of every backend (Fleet Freedom\'s password)', () => {
    const config = line({ backend: 'fleetfreedom', url: 'wss://ff.example', username: 'u', password: 'hunter2-hunter2', company: 7, providerKind: 'json' }, { firmware: { source: 'file', path: '/fw.bin', versionId: '1' } });
    expect(canonicalJson(withoutSecrets(config))).not.toContain('hunter2');
  });

  it('writes one text per value: sorted keys at every level, undefined left out', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 'é' }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":"é","z":1}]},"b":1}');
  });
});
