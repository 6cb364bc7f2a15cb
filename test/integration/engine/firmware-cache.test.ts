import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { FirmwareCache } from '../../../main/core/engine/firmware-cache.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';

describe('firmware cache', () => {
  it('downloads a version once for concurrent callers, re-hashes on use, and fetches again when the file was damaged', async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['S'], versions: [{ name: '1', firmware: { size: 100_000 } }] }], firmwareEncoding: 'octet-stream' });
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const journal = Journal.open(join(dir, 'j.sqlite'), new SecretBox(randomBytes(32)));
    const adapter = new GadgetKeeperAdapter({ baseUrl: emulator.url });
    const cache = new FirmwareCache({ dir: join(dir, 'fw'), journal, adapter });
    try {
      const credentials = await adapter.activate('S');
      const version = await adapter.targetVersion(credentials);
      const images = await Promise.all([1, 2, 3].map(() => cache.get({ credentials, version })));
      expect(emulator.calls.get('download')).toBe(1);
      expect(new Set(images.map((image) => image.sha256)).size).toBe(1);
      // Damage the cached file: it is noticed on the next use and fetched again, never handed out.
      const path = journal.cachedFirmware(cache.keyOf(version))!.path;
      writeFileSync(path, Buffer.alloc(100_000));
      expect(await cache.cached(version)).toBeUndefined();
      const again = await cache.get({ credentials, version });
      expect(again.sha256).toBe(images[0]!.sha256);
      expect(emulator.calls.get('download')).toBe(2);
    } finally {
      journal.close();
      await emulator.stop();
    }
  });

  it('sweeps partial downloads a killed station left behind, keeping finished images', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    mkdirSync(join(dir, 'fw'));
    writeFileSync(join(dir, 'fw', 'download-abc123.part'), 'half');
    writeFileSync(join(dir, 'fw', `${'a'.repeat(64)}.bin`), 'image');
    const journal = Journal.open(':memory:', new SecretBox(randomBytes(32)));
    const cache = new FirmwareCache({ dir: join(dir, 'fw'), journal, adapter: new GadgetKeeperAdapter({ baseUrl: 'http://127.0.0.1:9' }) });
    expect(await cache.sweep()).toBe(1);
    expect(readdirSync(join(dir, 'fw'))).toEqual([`${'a'.repeat(64)}.bin`]);
    journal.close();
  });
});
