import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudError } from '../../../main/core/cloud/cloud-error.ts';
import { startExositeEmulator, type ExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { CONTENT_INFO_CONCURRENCY, ExositeAdapter } from '../../../main/core/cloud/exosite/adapter.ts';

const SN = 'THERM00000000000042';
const attached = { canDeliverCredentials: async () => true };
const fastRetry = { attempts: 3, baseDelayMs: 10, maxDelayMs: 2000 };

describe('Exosite adapter against its emulator', () => {
  let emulator: ExositeEmulator;
  let adapter: ExositeAdapter;
  beforeEach(async () => {
    emulator = await startExositeEmulator({
      models: [
        {
          vendor: 'acme',
          model: 'therm',
          serialNumbers: [SN, 'THERM00000000000043'],
          content: [
            { id: 'fw-1.0.0.bin', description: 'release 1.0.0', firmware: { size: 1000 } },
            { id: 'fw-1.1.0.bin', description: 'release 1.1.0, with commas', firmware: { size: 8 * 1024 * 1024 } },
          ],
        },
      ],
    });
    adapter = new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'therm', retry: fastRetry });
  });
  afterEach(() => emulator.stop());

  const image = (id: string) => [...emulator.state.models.values()][0]!.content.get(id)!.data;

  it('activates exactly once: a CIK, then 409 until the vendor re-enables the serial number', async () => {
    const credentials = await adapter.activate(SN, attached);
    expect(credentials).toEqual({ thingId: SN, apiKey: expect.stringMatching(/^[0-9a-f]{40}$/) });
    const again = (await adapter.activate(SN, attached).catch((e: unknown) => e)) as CloudError;
    expect(again).toMatchObject({ status: 409, failure: 'conflict', retryable: false });
    expect(again.describe()).toContain('already activated');
    emulator.state.reenable('acme', 'therm', SN);
    expect((await adapter.activate(SN, attached)).apiKey).not.toBe(credentials.apiKey);
  });

  it('names unknown serial numbers (404) and a bad vendor/model pair (403)', async () => {
    await expect(adapter.activate('NOPE', attached)).rejects.toMatchObject({ status: 404, retryable: false, message: expect.stringContaining('serial number NOPE is not known to Exosite for acme/therm') });
    const wrong = new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'toaster' });
    await expect(wrong.activate(SN, attached)).rejects.toMatchObject({ status: 403, message: expect.stringContaining('vendor/model pair acme/toaster is not valid') });
  });

  it('never activates when the station cannot deliver the CIK to the unit', async () => {
    const error = (await adapter.activate(SN, { canDeliverCredentials: async () => false }).catch((e: unknown) => e)) as CloudError;
    expect(error.message).toContain('the unit cannot receive its CIK now');
    await expect(adapter.activate(SN)).rejects.toThrow(/cannot receive its CIK/);
    expect(emulator.calls.get('activate')).toBeUndefined();
    expect(emulator.state.activations.get(SN)).toBeUndefined();
    expect(adapter.steps.activate).toMatchObject({ retrySafe: false, replaySafe: false, offlineSkip: expect.stringContaining('one-shot') });
  });

  it('does not repeat an activation whose answer was lost, and says what to do', async () => {
    emulator.addFault({ step: 'activate', kind: 'drop-after-effect' });
    const error = (await adapter.activate(SN, attached).catch((e: unknown) => e)) as CloudError;
    expect(error).toMatchObject({ outcomeUnknown: true, retryable: false });
    expect(error.describe()).toContain('re-enable');
    expect(emulator.calls.get('activate')).toBe(1);
  });

  it('lists content, reads its info, and picks the newest as the target', async () => {
    const credentials = await adapter.activate(SN, attached);
    const target = await adapter.targetVersion(credentials);
    // The revision is the content's updated time: what tells a re-upload under the same id apart.
    const updated = [...emulator.state.models.values()][0]!.content.get('fw-1.1.0.bin')!.updated;
    expect(target).toEqual({ id: 'fw-1.1.0.bin', size: 8 * 1024 * 1024, name: 'release 1.1.0, with commas', description: 'release 1.1.0, with commas', revision: String(updated) });
    const pinned = new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'therm', firmwareContentId: 'fw-1.0.0.bin' });
    expect((await pinned.targetVersion(credentials)).id).toBe('fw-1.0.0.bin');
  });

  it('skips listed items it cannot carry and takes the newest usable one, but never passes over a newer one for an older; a configured item is still checked strictly', async () => {
    await emulator.stop();
    // Listed oldest first: the odd items are older than the firmware, but for the control-character id, which is never read.
    emulator = await startExositeEmulator({
      models: [
        {
          vendor: 'acme',
          model: 'therm',
          serialNumbers: [SN],
          content: [
            { id: 'manual.pdf', description: 'm'.repeat(5001), firmware: { size: 10 } },
            { id: 'odd-type.bin', contentType: 't'.repeat(256), firmware: { size: 10 } },
            { id: 'fw-1.0.0.bin', description: 'release 1.0.0', firmware: { size: 1000 } },
            { id: 'fw\u001b]0;owned\u0007.bin', firmware: { size: 10 } },
          ],
        },
      ],
    });
    const credentials = await new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'therm' }).activate(SN, attached);
    const newest = new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'therm', retry: fastRetry });
    expect(await newest.targetVersion(credentials)).toMatchObject({ id: 'fw-1.0.0.bin', description: 'release 1.0.0' });
    // The control-character id is never asked about; the other three infos are read.
    expect(emulator.calls.get('info')).toBe(3);
    // A newer upload whose info cannot be used (a release note over 5000 characters) may be the new firmware: the older one is not taken instead.
    emulator.state.upload('acme', 'therm', 'fw-1.1.0.bin', Buffer.alloc(64, 1), { description: 'r'.repeat(5001) });
    await expect(newest.targetVersion(credentials)).rejects.toMatchObject({
      failure: 'invalid-response',
      retryable: false,
      message: expect.stringMatching(/^Exosite's newest content cannot be used \(content info with a description over 5000 characters: fw-1\.1\.0\.bin: ".*"\), and the station will not take the older fw-1\.0\.0\.bin instead$/),
    });

    const pinned = (firmwareContentId: string) => new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'therm', retry: fastRetry, firmwareContentId });
    await expect(pinned('fw\u001b]0;owned\u0007.bin').targetVersion(credentials)).rejects.toMatchObject({
      failure: 'invalid-response',
      message: expect.stringContaining('a content id holding control characters: "fw\\x1b]0;owned\\x07.bin"'),
    });
    await expect(pinned('manual.pdf').targetVersion(credentials)).rejects.toMatchObject({
      failure: 'invalid-response',
      message: expect.stringContaining('content info of manual.pdf has a description over 5000 characters'),
    });
    await expect(pinned('odd-type.bin').targetVersion(credentials)).rejects.toMatchObject({ message: expect.stringContaining('has a content type over 255 characters') });
  });

  it(`reads the content infos at most ${CONTENT_INFO_CONCURRENCY} at a time while looking for the newest`, async () => {
    await emulator.stop();
    const content = Array.from({ length: 40 }, (_, i) => ({ id: `item-${i}.bin`, description: `item ${i}`, firmware: { size: 16 } }));
    emulator = await startExositeEmulator({ models: [{ vendor: 'acme', model: 'therm', serialNumbers: [SN], content }] });
    const adapter = new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'therm', retry: fastRetry });
    const credentials = await adapter.activate(SN, attached);
    // Each info answer takes a while, so reads that are allowed to overlap do.
    emulator.addFault({ step: 'info', kind: 'latency', ms: 30, times: content.length });
    expect((await adapter.targetVersion(credentials)).id).toBe('item-39.bin');
    expect(emulator.calls.get('info')).toBe(content.length);
    expect(emulator.peakInFlight.get('info')).toBeLessThanOrEqual(CONTENT_INFO_CONCURRENCY);
    expect(emulator.peakInFlight.get('info')).toBeGreaterThan(1);
  });

  it(`reads at most ${CONTENT_INFO_CONCURRENCY} content infos at a time for the whole line, however many units look at once`, async () => {
    await emulator.stop();
    const serials = Array.from({ length: 8 }, (_, i) => `${SN.slice(0, -1)}${i}`);
    const content = Array.from({ length: 3 }, (_, i) => ({ id: `item-${i}.bin`, description: `item ${i}`, firmware: { size: 16 } }));
    emulator = await startExositeEmulator({ models: [{ vendor: 'acme', model: 'therm', serialNumbers: serials, content }] });
    const adapter = new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'therm', retry: fastRetry });
    const units = await Promise.all(serials.map((serial) => adapter.activate(serial, attached)));
    emulator.addFault({ step: 'info', kind: 'latency', ms: 30, times: serials.length * content.length });
    const targets = await Promise.all(units.map((credentials) => adapter.targetVersion(credentials)));
    expect(targets.map((target) => target.id)).toEqual(serials.map(() => 'item-2.bin'));
    expect(emulator.calls.get('info')).toBe(serials.length * content.length);
    expect(emulator.peakInFlight.get('info')).toBeLessThanOrEqual(CONTENT_INFO_CONCURRENCY);
  });

  it('answers 400 for info but 403 for list and download with a bad vendor/model, 401 for a bad CIK', async () => {
    const credentials = await adapter.activate(SN, attached);
    const wrong = new ExositeAdapter({ baseUrl: emulator.url, vendor: 'acme', model: 'toaster', retry: fastRetry });
    await expect(wrong.targetVersion(credentials)).rejects.toMatchObject({ status: 403 });
    await expect(wrong.downloadFirmware(credentials, { id: 'fw-1.0.0.bin', size: 1000 }, { destination: join(mkdtempSync(join(tmpdir(), 'exo-')), 'x') })).rejects.toMatchObject({ status: 403 });
    await expect(wrong.downloadFirmware(credentials, { id: 'fw-1.0.0.bin' }, { destination: join(mkdtempSync(join(tmpdir(), 'exo-')), 'x') })).rejects.toMatchObject({ status: 400 });
    await expect(adapter.targetVersion({ thingId: SN, apiKey: '0'.repeat(40) })).rejects.toMatchObject({ status: 401, failure: 'unauthorized' });
  });

  it('downloads 8 MiB with its SHA-256, and resumes with Range after a reset halfway', async () => {
    const credentials = await adapter.activate(SN, attached);
    const target = await adapter.targetVersion(credentials);
    emulator.addFault({ step: 'download', kind: 'reset-mid-body' });
    const destination = join(mkdtempSync(join(tmpdir(), 'exo-')), 'fw.bin');
    const progress: number[] = [];
    const result = await adapter.downloadFirmware(credentials, target, { destination, onProgress: (p) => progress.push(p.bytesDone) });
    expect(result.sha256).toBe(createHash('sha256').update(image('fw-1.1.0.bin')).digest('hex'));
    expect(readFileSync(destination).equals(image('fw-1.1.0.bin'))).toBe(true);
    expect(emulator.calls.get('download')).toBe(2);
    // The second request asked only for the rest: progress never went backwards.
    expect(progress.every((value, i) => i === 0 || value >= progress[i - 1]!)).toBe(true);
    expect(existsSync(`${destination}.part`)).toBe(false);
  });

  it('rejects a body longer than the announced size, leaving no file', async () => {
    const credentials = await adapter.activate(SN, attached);
    const destination = join(mkdtempSync(join(tmpdir(), 'exo-')), 'fw.bin');
    const error = (await adapter.downloadFirmware(credentials, { id: 'fw-1.1.0.bin', size: 1000 }, { destination }).catch((e: unknown) => e)) as CloudError;
    expect(error.failure).toBe('invalid-response');
    expect(existsSync(destination) || existsSync(`${destination}.part`)).toBe(false);
  });

  it('confirms the installed version by writing the alias with the CIK', async () => {
    const credentials = await adapter.activate(SN, attached);
    expect(emulator.state.aliasOf('acme', 'therm', SN, 'fw_version')).toBeUndefined();
    await adapter.confirmVersion(credentials, 'fw-1.1.0.bin');
    expect(emulator.state.aliasOf('acme', 'therm', SN, 'fw_version')).toBe('fw-1.1.0.bin');
  });

  it('retries content calls through 5xx and 429 with Retry-After', async () => {
    const credentials = await adapter.activate(SN, attached);
    emulator.addFault({ step: 'list', kind: 'status', status: 502 });
    emulator.addFault({ step: 'info', kind: 'status', status: 429, retryAfterSeconds: 1, times: 1 });
    const started = performance.now();
    await adapter.targetVersion(credentials);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(emulator.calls.get('list')).toBe(2);
  });

  it('declares exactly the steps it has methods for, and no rename or register step', () => {
    expect(Object.keys(adapter.steps).sort()).toEqual(['activate', 'confirm', 'download', 'target-version']);
    expect('rename' in adapter || 'register' in adapter).toBe(false);
  });
});
