import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { FirmwareCache } from '../../../main/core/engine/firmware-cache.ts';
import { StationError } from '../../../main/core/errors.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';

/** The station's memory against large images: one copy per version, and nothing read that is over the limit. */

const MiB = 1024 * 1024;
const journals: Journal[] = [];
let emulator: GadgetKeeperEmulator | undefined;
afterEach(async () => {
  for (const journal of journals.splice(0)) journal.close();
  await emulator?.stop();
  emulator = undefined;
});

function cacheIn(dir: string, options: { adapter?: GadgetKeeperAdapter; maxFirmwareBytes?: number } = {}): FirmwareCache {
  const journal = Journal.open(join(dir, 'j.sqlite'), new SecretBox(randomBytes(32)));
  journals.push(journal);
  return new FirmwareCache({ dir: join(dir, 'fw'), journal, adapter: options.adapter ?? new GadgetKeeperAdapter({ baseUrl: 'http://127.0.0.1:9' }), maxFirmwareBytes: options.maxFirmwareBytes });
}

describe('firmware in memory', () => {
  it('8 ports asking for the same cached version at once share one image in memory', async () => {
    const size = 16 * MiB;
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['S'], versions: [{ name: '1', firmware: { size } }] }], firmwareEncoding: 'octet-stream' });
    const adapter = new GadgetKeeperAdapter({ baseUrl: emulator.url });
    const cache = cacheIn(mkdtempSync(join(tmpdir(), 'cache-')), { adapter });
    const credentials = await adapter.activate('S');
    const version = await adapter.targetVersion(credentials);
    const first = (await cache.get({ credentials, version })).sha256;

    const before = process.memoryUsage().arrayBuffers;
    const images = await Promise.all(Array.from({ length: 8 }, () => cache.get({ credentials, version })));
    const grownMiB = (process.memoryUsage().arrayBuffers - before) / MiB;
    const copies = new Set(images.map((image) => image.data));
    console.log(
      `8 concurrent requests for a 16 MiB version: ${copies.size} copy in memory (${(copies.size * size) / MiB} MiB; one per port would be 128 MiB); buffer memory changed by ${grownMiB.toFixed(1)} MiB (GC included)`,
    );
    expect(copies.size).toBe(1);
    expect(images.every((image) => image.sha256 === first && image.data.length === size)).toBe(true);
    expect(grownMiB).toBeLessThan(2 * 16);
    expect(emulator.calls.get('download')).toBe(1);

    // A port asking later, while the others still hold it, gets the same bytes after the file is re-hashed.
    const later = await cache.get({ credentials, version });
    expect(later.data).toBe(images[0]!.data);
  });

  it('a pinned file replaced on disk is read again, never served from the copy in memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pinned-'));
    const path = join(dir, 'fw.bin');
    writeFileSync(path, Buffer.alloc(4096, 1));
    const cache = cacheIn(dir);
    const [a, b] = await Promise.all([cache.pinned(path, 'v1'), cache.pinned(path, 'v1')]);
    expect(a!.data).toBe(b!.data);
    writeFileSync(path, Buffer.alloc(4096, 2));
    const c = await cache.pinned(path, 'v1');
    expect(c.data).not.toBe(a!.data);
    expect(c.data[0]).toBe(2);
    expect(c.sha256).not.toBe(a!.sha256);
  });

  it('a 1 GiB (sparse) pinned file is refused without being read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pinned-'));
    const path = join(dir, 'huge.bin');
    execFileSync('truncate', ['-s', '1G', path]);
    const cache = cacheIn(dir);
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    const error = (await cache.pinned(path, 'v1').catch((e: unknown) => e)) as StationError;
    const elapsedMs = performance.now() - started;
    expect(error).toBeInstanceOf(StationError);
    expect(error.code).toBe('FIRMWARE_TOO_LARGE');
    expect(error.describe()).toBe(
      `the pinned firmware file ${path} is 1 GiB, more than the station accepts (maxFirmwareBytes: 64 MiB). Check firmware.path in the line configuration; if the image is right, raise maxFirmwareBytes.`,
    );
    // Reading (even hashing) 1 GiB takes seconds and a GiB of memory; a stat takes neither.
    expect(elapsedMs).toBeLessThan(500);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * MiB);
  });

  it('the configured maxFirmwareBytes applies to pinned files, and something that is not a file is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pinned-'));
    writeFileSync(join(dir, 'two.bin'), Buffer.alloc(2 * MiB, 1));
    writeFileSync(join(dir, 'one.bin'), Buffer.alloc(MiB, 1));
    const cache = cacheIn(dir, { maxFirmwareBytes: MiB });
    await expect(cache.pinned(join(dir, 'two.bin'), 'v1')).rejects.toMatchObject({ code: 'FIRMWARE_TOO_LARGE' });
    expect((await cache.pinned(join(dir, 'one.bin'), 'v1')).data.length).toBe(MiB);
    await expect(cache.pinned('/dev/zero', 'v1')).rejects.toThrow('the pinned firmware file /dev/zero is not a regular file');
  });

  it('passes the line\'s maxFirmwareBytes to the cloud download: a larger image is refused', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['S'], versions: [{ name: '1', firmware: { size: 2 * MiB } }] }], firmwareEncoding: 'octet-stream' });
    const adapter = new GadgetKeeperAdapter({ baseUrl: emulator.url });
    const cache = cacheIn(mkdtempSync(join(tmpdir(), 'cache-')), { adapter, maxFirmwareBytes: MiB });
    const credentials = await adapter.activate('S');
    const version = await adapter.targetVersion(credentials);
    await expect(cache.get({ credentials, version })).rejects.toMatchObject({ failure: 'invalid-response', message: expect.stringContaining('maxFirmwareBytes: 1 MiB') });
  });
});
