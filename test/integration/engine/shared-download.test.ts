import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { FirmwareCache } from '../../../main/core/engine/firmware-cache.ts';
import { StationError } from '../../../main/core/errors.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';
import type { TransferProgress } from '../../../main/core/transfer/progress.ts';
import { until } from '../../helpers/until.ts';

const IMAGE = randomBytes(64 * 1024);
const credentials = { thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32) };
const version = { id: 'c'.repeat(32) };

/** A cloud that sends the firmware in slices, the rest only when the test says: a download stays in flight as long as needed. */
async function slowFirmwareCloud(): Promise<{ url: string; requests: () => number; paths: string[]; finish: () => void; server: Server }> {
  let requests = 0;
  const paths: string[] = [];
  const held: Array<() => void> = [];
  const server = createServer((request, response) => {
    requests++;
    paths.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': IMAGE.length });
    response.write(IMAGE.subarray(0, 1024));
    held.push(() => response.end(IMAGE.subarray(1024)));
    request.on('close', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    paths,
    finish: () => held.splice(0).forEach((end) => end()),
    server,
  };
}

describe('one firmware download shared by several ports', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A firmware cache with its own journal, downloading from a cloud that holds the firmware until told to finish. */
  async function cacheOnSlowCloud(maxConcurrentDownloads = 2) {
    const cloud = await slowFirmwareCloud();
    cleanup.push(() => new Promise((resolve) => cloud.server.close(resolve)), () => cloud.server.closeAllConnections());
    const dir = mkdtempSync(join(tmpdir(), 'shared-download-'));
    const journal = Journal.open(join(dir, 'journal.sqlite'), new SecretBox(randomBytes(32)));
    cleanup.push(() => journal.close());
    return { cloud, cache: new FirmwareCache({ dir: join(dir, 'firmware'), journal, adapter: new GadgetKeeperAdapter({ baseUrl: cloud.url }), maxConcurrentDownloads }) };
  }

  it('goes on for the other ports when the port that started it is cancelled, and tells each port its progress', async () => {
    const { cloud, cache } = await cacheOnSlowCloud();

    const first = new AbortController();
    const second = new AbortController();
    const progress: Record<'first' | 'second', TransferProgress[]> = { first: [], second: [] };
    const firstImage = cache.get({ credentials, version, signal: first.signal, onProgress: (p) => progress.first.push(p) });
    const firstOutcome = firstImage.then(
      () => 'resolved',
      (error: unknown) => (error instanceof StationError ? error.code : String(error)),
    );
    const secondImage = cache.get({ credentials, version, signal: second.signal, onProgress: (p) => progress.second.push(p) });
    await until(() => cloud.requests() === 1 && progress.first.length > 0);

    // The operator cancels the first port: its wait ends, the download goes on for the second.
    first.abort();
    expect(await firstOutcome).toBe('CANCELLED');
    cloud.finish();
    const image = await secondImage;
    expect(createHash('sha256').update(image.data).digest('hex')).toBe(createHash('sha256').update(IMAGE).digest('hex'));
    expect(cloud.requests()).toBe(1);
    expect(progress.second.at(-1)?.bytesDone).toBe(IMAGE.length);
  });

  it('stops the download when every port waiting for it was cancelled', async () => {
    const { cloud, cache } = await cacheOnSlowCloud();
    const waits = [new AbortController(), new AbortController()].map((controller) => ({
      controller,
      outcome: cache.get({ credentials, version, signal: controller.signal }).then(
        () => 'resolved',
        (error: unknown) => (error instanceof StationError ? error.code : String(error)),
      ),
    }));
    await until(() => cloud.requests() === 1);
    for (const wait of waits) wait.controller.abort();
    expect(await Promise.all(waits.map((wait) => wait.outcome))).toEqual(['CANCELLED', 'CANCELLED']);
    // A port asking afterwards starts a download of its own, not the cancelled one.
    const again = cache.get({ credentials, version });
    await until(() => cloud.requests() === 2);
    cloud.finish();
    expect((await again).data.length).toBe(IMAGE.length);
  });

  it('never starts a download every port cancelled while it waited for its turn', async () => {
    const { cloud, cache } = await cacheOnSlowCloud(1);
    const first = cache.get({ credentials, version });
    await until(() => cloud.requests() === 1);
    const outcome = (image: Promise<unknown>) => image.then(() => 'resolved', (error: unknown) => (error as StationError).code);
    // Cancelled at once (while the cache is checked), and cancelled while queued behind the first.
    const atOnce = new AbortController();
    const early = outcome(cache.get({ credentials, version: { id: 'd'.repeat(32) }, signal: atOnce.signal }));
    atOnce.abort();
    const queued = new AbortController();
    const waiting = outcome(cache.get({ credentials, version: { id: 'e'.repeat(32) }, signal: queued.signal }));
    await until(() => cache.downloadsUnderWay === 2);
    queued.abort();
    expect([await early, await waiting]).toEqual(['CANCELLED', 'CANCELLED']);
    // A last version queued behind them: once it is under way, their turns have passed.
    const last = cache.get({ credentials, version: { id: 'f'.repeat(32) } });
    cloud.finish();
    await first;
    await until(() => cloud.paths.some((path) => path.includes('f'.repeat(32))));
    cloud.finish();
    await last;
    expect(cache.downloadCount).toBe(2);
    expect(cloud.paths.filter((path) => path.includes('d'.repeat(32)) || path.includes('e'.repeat(32)))).toEqual([]);
  });
});
