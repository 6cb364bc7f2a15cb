import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudError } from '../../../main/core/cloud/cloud-error.ts';
import { CONTENT_INFO_CONCURRENCY, ExositeAdapter } from '../../../main/core/cloud/exosite/adapter.ts';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { MAX_RETRY_AFTER_MS, READ_RETRY } from '../../../main/core/cloud/http.ts';

/**
 * A hostile or broken cloud on loopback: real HTTP servers written here that
 * answer forever, drip, stall, announce huge images or fail for a while.
 * Every call must end within its configured limits.
 */

interface TestServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<TestServer> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const running: TestServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  servers.push(running);
  return running;
}

/** Writes `chunk` every `everyMs` until the client goes away. */
function drip(response: ServerResponse, chunk: string | Buffer, everyMs: number): void {
  const timer = setInterval(() => response.write(chunk), everyMs);
  response.on('close', () => clearInterval(timer));
}

/** Writes as fast as the client takes it, forever. */
function flood(response: ServerResponse): void {
  const block = Buffer.alloc(64 * 1024, 0x61);
  const pump = () => {
    while (!response.destroyed && response.write(block));
  };
  response.on('drain', pump);
  pump();
}

/** Waits for the call to end, or fails the test when it has not ended after `limitMs` (it would hang). */
async function settle<T>(call: Promise<T>, limitMs: number): Promise<{ error: unknown; elapsedMs: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    call.then(
      () => ({ error: undefined }),
      (error: unknown) => ({ error }),
    ),
    new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), limitMs))),
  ]);
  clearTimeout(timer);
  if (outcome === 'hung') throw new Error(`the call had not ended after ${limitMs} ms`);
  return { error: outcome.error, elapsedMs: performance.now() - started };
}

const credentials = { thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32) };
const destination = () => join(mkdtempSync(join(tmpdir(), 'hostile-')), 'fw.bin');
const MiB = 1024 * 1024;

describe('a hostile cloud: API answers', () => {
  it('an endless activation answer ends at the size limit, with the RSS of the station bounded (measured in a process of its own)', async () => {
    const cloud = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      flood(response);
    });
    const child = join(import.meta.dirname, 'hostile-activation-child.ts');
    const { stdout } = await promisify(execFile)(process.execPath, [child, cloud.url, '5000'], { timeout: 20_000 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { outcome: string; failure?: string; message?: string; rssBefore: number; rssPeak: number; rssAfter: number; elapsedMs: number };
    const growthMiB = (result.rssPeak - result.rssBefore) / MiB;
    console.log(`endless activation answer: ${result.outcome} after ${result.elapsedMs} ms; RSS ${(result.rssBefore / MiB).toFixed(1)} MiB before, peak ${(result.rssPeak / MiB).toFixed(1)} MiB (+${growthMiB.toFixed(1)} MiB), ${(result.rssAfter / MiB).toFixed(1)} MiB after`);
    expect(result.outcome).toBe('failed');
    expect(result.failure).toBe('invalid-response');
    expect(result.message).toBe('GadgetKeeper sent an answer larger than 256 KiB');
    expect(result.elapsedMs).toBeLessThan(5000);
    // The limit is 256 KiB of answer; the rest is the sockets and parsers of one call.
    expect(growthMiB).toBeLessThan(48);
  });

  it('a 1-byte-per-second activation answer ends at the deadline, as a timeout whose outcome is unknown', async () => {
    const cloud = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      drip(response, ' ', 1000);
    });
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.url, timeoutMs: 2500 });
    const { error, elapsedMs } = await settle(adapter.activate('THERM00000000000042'), 10_000);
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({ failure: 'timeout', outcomeUnknown: true, retryable: true });
    expect((error as CloudError).describe()).toBe(
      "unit THERM00000000000042, step activate: GadgetKeeper did not answer within 2500 ms. Check the station's internet connection; the call can wait in the outbox.",
    );
    expect(elapsedMs).toBeGreaterThanOrEqual(2400);
    expect(elapsedMs).toBeLessThan(2500 + 2000);
    expect(cloud.requests).toHaveLength(1); // an activation is never repeated
  });

  it('a Retry-After of ten years is capped where it is read', async () => {
    const cloud = await serve((_request, response) => {
      response.writeHead(429, { 'Retry-After': String(10 * 365 * 24 * 3600) });
      response.end();
    });
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.url });
    const error = (await adapter.rename(credentials, 'n').catch((e: unknown) => e)) as CloudError;
    expect(error).toMatchObject({ failure: 'rate-limited', retryable: true, retryAfterMs: MAX_RETRY_AFTER_MS });
    expect(MAX_RETRY_AFTER_MS).toBe(10 * 60_000);
  });
});

describe('a hostile cloud: what Exosite lists', () => {
  const cik = { thingId: 'SN1', apiKey: 'c'.repeat(40) };
  const once = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
  /** An Exosite that lists `list` as its content and describes every item with `info`. */
  const exosite = (list: string, info: string | ((id: string) => string)) =>
    serve((request, response) => {
      const query = new URL(request.url!, 'http://x').searchParams;
      const id = query.get('id');
      response.end(id === null ? list : typeof info === 'string' ? info : info(id));
    });

  it('a list of thousands of content ids is refused from the list itself, without a request per id', async () => {
    const cloud = await exosite(Array.from({ length: 5000 }, (_, i) => `fw-${i}`).join('\n'), 'application/octet-stream,1024,1700000000,an image');
    const adapter = new ExositeAdapter({ baseUrl: cloud.url, vendor: 'acme', model: 'therm', retry: once });
    const { error } = await settle(adapter.targetVersion(cik), 20_000);
    expect(error).toMatchObject({ failure: 'invalid-response' });
    expect((error as CloudError).message).toContain('5000 content ids');
    expect((error as CloudError).hint).toContain('firmwareContentId');
    expect(cloud.requests).toHaveLength(1);
  });

  it('a content id or description the station cannot carry is refused, not taken as the target version', async () => {
    const image = 'application/octet-stream,1024,1700000000';
    for (const [list, info, why] of [
      ['x'.repeat(129), `${image},fine`, 'content id'],
      ['fw\u001b]0;owned\u0007.bin', `${image},fine`, 'content id'],
      ['fw.bin', `${image},${'d'.repeat(5001)}`, 'content info'],
      ['fw.bin', 'application/octet-stream,-5,1700000000,negative', 'content info'],
    ] as const) {
      const cloud = await exosite(list, info);
      const adapter = new ExositeAdapter({ baseUrl: cloud.url, vendor: 'acme', model: 'therm', retry: once });
      const { error } = await settle(adapter.targetVersion(cik), 10_000);
      expect(error, `${JSON.stringify(list.slice(0, 20))} / ${info.slice(0, 60)}`).toMatchObject({ failure: 'invalid-response', message: expect.stringContaining(why) });
    }
  });

  it('an item the station cannot carry is skipped when another listed item is usable: an id it cannot send back even when newest, an info it cannot use when older', async () => {
    const long = 'x'.repeat(129);
    const cloud = await exosite(['fw-1.0.0.bin', long, 'notes.txt'].join('\n'), (id) =>
      id === 'notes.txt' ? `text/plain,12,1699999000,${'n'.repeat(5001)}` : `application/octet-stream,1024,${id === long ? 1700000500 : 1700000000},release`,
    );
    const adapter = new ExositeAdapter({ baseUrl: cloud.url, vendor: 'acme', model: 'therm', retry: once });
    expect(await adapter.targetVersion(cik)).toMatchObject({ id: 'fw-1.0.0.bin', revision: '1700000000' });
    // The over-long id is never sent back to the cloud.
    expect(cloud.requests.some((request) => request.includes(long))).toBe(false);
  });

  it('a content info that cannot be read fails the step, not skipped (it may be the newest), and no further infos are asked for', async () => {
    const cloud = await serve((request, response) => {
      const query = new URL(request.url!, 'http://x').searchParams;
      if (query.get('id') === null) {
        response.end(Array.from({ length: 20 }, (_, i) => `fw-${i}`).join('\n'));
      } else {
        // A slow failure: a client that asks for every info at once has them all out before the first fails.
        setTimeout(() => response.writeHead(500).end(), 100);
      }
    });
    const adapter = new ExositeAdapter({ baseUrl: cloud.url, vendor: 'acme', model: 'therm', retry: once });
    const { error } = await settle(adapter.targetVersion(cik), 10_000);
    expect(error).toMatchObject({ failure: 'server', status: 500 });
    expect(cloud.requests.filter((request) => request.includes('info=true')).length).toBeLessThanOrEqual(CONTENT_INFO_CONCURRENCY);
  });

  it('a list where no item is usable says how many were skipped and why, quoting each reason\'s first item printably', async () => {
    const cloud = await exosite(['x'.repeat(129), 'y'.repeat(200), 'fw\u001b]0;owned\u0007.bin', 'fw.bin'].join('\n'), `application/octet-stream,1024,1700000000,${'d'.repeat(5001)}`);
    const adapter = new ExositeAdapter({ baseUrl: cloud.url, vendor: 'acme', model: 'therm', retry: once });
    const { error } = await settle(adapter.targetVersion(cik), 10_000);
    expect(error).toMatchObject({ failure: 'invalid-response', retryable: false, hint: expect.stringContaining('firmwareContentId') });
    expect((error as CloudError).message).toBe(
      'none of the 4 content items Exosite lists for this model can be the firmware, all 4 skipped (' +
        `content id longer than 128 characters: 2, first "${'x'.repeat(40)}…"; ` +
        'content id holding control characters: 1, first "fw\\x1b]0;owned\\x07.bin"; ' +
        `content info with a description over 5000 characters: 1, first fw.bin: "application/octet-stream,1024,1700000000,${'d'.repeat(38)}…")`,
    );
  });
});

describe('a hostile cloud: firmware downloads', () => {
  it('a dripping download ends at the deadline its announced size gives', async () => {
    const cloud = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(MiB) });
      drip(response, Buffer.alloc(16), 50);
    });
    // Deadline: 2000 ms for the answer to start + 1 MiB at 1 MiB/s = 3000 ms; a chunk every 50 ms never stalls,
    // and the limits leave a busy machine seconds of margin.
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.url, timeoutMs: 2000, downloadMinBytesPerSecond: MiB, downloadStallMs: 2500 });
    const target = destination();
    const { error, elapsedMs } = await settle(adapter.downloadFirmware(credentials, { id: 'v1' }, { destination: target }), 20_000);
    expect(error).toMatchObject({ failure: 'timeout', retryable: false });
    expect((error as CloudError).message).toBe('the firmware download from GadgetKeeper did not finish within 3000 ms (1 MiB at no less than 1 MiB/s)');
    expect(elapsedMs).toBeGreaterThanOrEqual(2900);
    expect(elapsedMs).toBeLessThan(3000 + 4000);
    expect(cloud.requests).toHaveLength(1); // too slow for this image: not repeated
    expect(existsSync(`${target}.part`) || existsSync(target)).toBe(false);
  });

  it('a download that stalls ends at the stall timer, and is tried again', async () => {
    const cloud = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(MiB) });
      response.write(Buffer.alloc(1000));
    });
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.url, downloadStallMs: 800, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } });
    const { error, elapsedMs } = await settle(adapter.downloadFirmware(credentials, { id: 'v1' }, { destination: destination() }), 15_000);
    expect(error).toMatchObject({ failure: 'timeout', retryable: true });
    expect((error as CloudError).message).toBe('the firmware download stalled: GadgetKeeper sent nothing for 800 ms');
    expect(cloud.requests).toHaveLength(2);
    expect(elapsedMs).toBeGreaterThanOrEqual(1600);
    expect(elapsedMs).toBeLessThan(1600 + 3000);
  });

  it('GadgetKeeper announcing 300 MiB is refused from its Content-Length, before the body is read', async () => {
    const cloud = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(300 * MiB) });
      response.write(Buffer.alloc(1000));
    });
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.url });
    const { error, elapsedMs } = await settle(adapter.downloadFirmware(credentials, { id: 'v1' }, { destination: destination() }), 10_000);
    expect(error).toMatchObject({ failure: 'invalid-response', retryable: false });
    expect((error as CloudError).describe()).toBe(
      'step download: the firmware v1 that GadgetKeeper announces 300 MiB is larger than the station accepts (maxFirmwareBytes: 64 MiB). Check the firmware uploaded to the cloud; if the image is right, raise maxFirmwareBytes in the line configuration.',
    );
    expect(elapsedMs).toBeLessThan(2000);
    expect(cloud.requests).toHaveLength(1);
  });

  it('an endless image without a length ends at the limit the caller gives (the line\'s maxFirmwareBytes)', async () => {
    const cloud = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      flood(response);
    });
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.url });
    const target = destination();
    const { error } = await settle(adapter.downloadFirmware(credentials, { id: 'v1' }, { destination: target, maxBytes: MiB }), 10_000);
    expect(error).toMatchObject({ failure: 'invalid-response', retryable: false });
    expect((error as CloudError).message).toBe('the firmware v1 that GadgetKeeper sends more than 1 MiB is larger than the station accepts (maxFirmwareBytes: 1 MiB)');
    expect(existsSync(`${target}.part`) || existsSync(target)).toBe(false);
  });

  it('Exosite announcing 300 MiB is refused before anything is downloaded', async () => {
    const cloud = await serve((request, response) => {
      const query = new URL(request.url!, 'http://x').searchParams;
      if (query.get('info') === 'true') {
        response.end(`application/octet-stream,${300 * MiB},1700000000,a huge image`);
      } else {
        response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(300 * MiB) });
        flood(response);
      }
    });
    const adapter = new ExositeAdapter({ baseUrl: cloud.url, vendor: 'acme', model: 'therm' });
    const { error } = await settle(adapter.downloadFirmware({ thingId: 'SN1', apiKey: 'c'.repeat(40) }, { id: 'fw' }, { destination: destination() }), 10_000);
    expect(error).toMatchObject({ failure: 'invalid-response', retryable: false });
    expect((error as CloudError).message).toBe('the firmware fw that Exosite announces 300 MiB is larger than the station accepts (maxFirmwareBytes: 64 MiB)');
    expect(cloud.requests.filter((request) => !request.includes('info=true'))).toEqual([]);
  });

  it('rides out a run of HTTP 500s on the download lasting about 5 s with the default retry policy', { timeout: 60_000 }, async () => {
    const image = Buffer.alloc(64 * 1024, 7);
    let outageEnds = 0;
    const cloud = await serve((_request, response) => {
      outageEnds ||= Date.now() + 5000;
      if (Date.now() < outageEnds) {
        response.writeHead(500);
        response.end('down for maintenance');
      } else {
        response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(image.length) });
        response.end(image);
      }
    });
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.url });
    const target = destination();
    const result = await adapter.downloadFirmware(credentials, { id: 'v1' }, { destination: target });
    expect(result.size).toBe(image.length);
    expect(readFileSync(target).equals(image)).toBe(true);
    expect(cloud.requests.length).toBeGreaterThan(2);
    expect(cloud.requests.length).toBeLessThanOrEqual(READ_RETRY.attempts);
  });

  it('a permanent run of HTTP 500s still fails, after riding out at least 8.75 s and within a bounded time', { timeout: 60_000 }, async () => {
    const cloud = await serve((_request, response) => {
      response.writeHead(500);
      response.end();
    });
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.url });
    const { error, elapsedMs } = await settle(adapter.downloadFirmware(credentials, { id: 'v1' }, { destination: destination() }), 40_000);
    expect(error).toMatchObject({ failure: 'server', status: 500 });
    expect(cloud.requests).toHaveLength(READ_RETRY.attempts);
    // Backoff 0.5, 1, 2, 4, 5, 5 s, each jittered to between half and all of it.
    expect(elapsedMs).toBeGreaterThanOrEqual(8750);
    expect(elapsedMs).toBeLessThan(17_500 + 5000);
  });
});
