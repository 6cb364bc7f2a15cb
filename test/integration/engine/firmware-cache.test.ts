import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { CloudError } from '../../../main/core/cloud/cloud-error.ts';
import { startExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { ExositeAdapter } from '../../../main/core/cloud/exosite/adapter.ts';
import { FirmwareCache } from '../../../main/core/engine/firmware-cache.ts';
import { rememberTarget } from '../../../main/core/engine/pipeline/last-target.ts';
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

  it('sweeps partial downloads, superseded revisions and images no entry names, keeping every image an entry names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const fw = join(dir, 'fw');
    mkdirSync(fw);
    const journal = Journal.open(':memory:', new SecretBox(randomBytes(32)));
    const adapter = new GadgetKeeperAdapter({ baseUrl: 'http://127.0.0.1:9' });
    const cache = new FirmwareCache({ dir: fw, journal, adapter });
    const sha = (letter: string) => letter.repeat(64);
    const entry = (versionKey: string, letter: string) => {
      writeFileSync(join(fw, `${sha(letter)}.bin`), letter);
      journal.cacheFirmware({ versionKey, sha256: sha(letter), size: 1, path: join(fw, `${sha(letter)}.bin`) });
    };
    entry('exosite:https://a.example/v/m@100:firmware.bin', 'a'); // re-uploaded since: superseded by b
    entry('exosite:https://a.example/v/m@200:firmware.bin', 'b');
    entry('exosite:https://a.example/v/other@100:firmware.bin', 'c'); // another model: not superseded
    entry(`${adapter.account}:1.0`, 'd'); // no revision
    entry(`${adapter.account}@5:fw`, 'e'); // this cloud's last target, though older
    entry(`${adapter.account}@6:fw`, 'f');
    rememberTarget(journal, adapter.account, { id: 'fw', revision: '5' });
    writeFileSync(join(fw, `${sha('9')}.bin`), 'left over from an entry that failed to record');
    writeFileSync(join(fw, 'download-abc123'), 'half');
    writeFileSync(join(fw, 'notes.txt'), 'not the cache\'s to remove');

    expect(await cache.sweep()).toEqual({ partial: 1, superseded: 1, unnamed: 2 });
    expect(readdirSync(fw).sort()).toEqual([...['b', 'c', 'd', 'e', 'f'].map((letter) => `${sha(letter)}.bin`), 'notes.txt']);
    expect(journal.cachedFirmware('exosite:https://a.example/v/m@100:firmware.bin')).toBeUndefined();
    expect(journal.cachedFirmware(`${adapter.account}@5:fw`)).toBeDefined();
    // Nothing left to do: a second start removes nothing.
    expect(await cache.sweep()).toEqual({ partial: 0, superseded: 0, unnamed: 0 });
    journal.close();
  });

  it('keeps an image two entries share while either names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const fw = join(dir, 'fw');
    mkdirSync(fw);
    const journal = Journal.open(':memory:', new SecretBox(randomBytes(32)));
    const cache = new FirmwareCache({ dir: fw, journal, adapter: new GadgetKeeperAdapter({ baseUrl: 'http://127.0.0.1:9' }) });
    const path = join(fw, `${'a'.repeat(64)}.bin`);
    writeFileSync(path, 'a');
    journal.cacheFirmware({ versionKey: 'exosite:https://a.example/v/m@1:fw', sha256: 'a'.repeat(64), size: 1, path });
    journal.cacheFirmware({ versionKey: 'exosite:https://a.example/v/m@2:fw', sha256: 'a'.repeat(64), size: 1, path });
    expect(await cache.sweep()).toEqual({ partial: 0, superseded: 1, unnamed: 0 });
    expect(readdirSync(fw)).toEqual([`${'a'.repeat(64)}.bin`]);
    journal.close();
  });
});

describe('firmware cache: a failed download', () => {
  it('leaves no partial file in the cache folder (a flaky link must not fill the disk over a shift)', async () => {
    const SN = 'THERM00000000000042';
    const emulator = await startExositeEmulator({ models: [{ vendor: 'acme', model: 'therm', serialNumbers: [SN], content: [{ id: 'fw-1.bin', firmware: { size: 200_000 } }] }] });
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const journal = Journal.open(join(dir, 'j.sqlite'), new SecretBox(randomBytes(32)));
    const adapter = new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'therm', retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 } });
    const cache = new FirmwareCache({ dir: join(dir, 'fw'), journal, adapter });
    try {
      const credentials = await adapter.activate(SN, { canDeliverCredentials: async () => true });
      const version = await adapter.targetVersion(credentials);
      // Every try is cut off halfway: Exosite keeps its .part to resume, but this download is over.
      emulator.addFault({ step: 'download', kind: 'reset-mid-body', times: 10 });
      const failed = await cache.get({ credentials, version }).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(CloudError);
      expect(readdirSync(join(dir, 'fw'))).toEqual([]);
    } finally {
      journal.close();
      await emulator.stop();
    }
  });
});
