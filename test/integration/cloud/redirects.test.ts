import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExositeAdapter } from '../../../main/core/cloud/exosite/adapter.ts';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';

/** A real HTTP server on loopback that keeps every request it got and answers each with `answer`. */
async function server(answer: (request: IncomingMessage, response: import('node:http').ServerResponse) => void): Promise<{ url: string; requests: IncomingMessage[]; server: Server }> {
  const requests: IncomingMessage[] = [];
  const http = createServer((request, response) => {
    requests.push(request);
    request.resume();
    answer(request, response);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, requests, server: http };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const http of servers.splice(0)) {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  }
});

/** The configured cloud, which sends every call elsewhere with a redirect that keeps method and body (307), and that elsewhere. */
async function redirectingCloud() {
  const elsewhere = await server((_request, response) => response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'));
  const cloud = await server((request, response) => response.writeHead(307, { Location: `${elsewhere.url}${request.url ?? '/'}` }).end());
  servers.push(cloud.server, elsewhere.server);
  return { cloud, elsewhere };
}

const fastRetry = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
const destination = () => join(mkdtempSync(join(tmpdir(), 'redirect-')), 'fw.bin');

// The client follows no redirect: a custom header (GadgetKeeper's X-ApiKey, Exosite's CIK) would ride along to
// whatever host the Location names, and HTTP clients strip only Authorization and Cookie on a cross-host redirect.
describe('a cloud answering with a redirect never gets the station to send a key elsewhere', () => {
  it('GadgetKeeper: activation, thing calls and the firmware download stay on the configured host', async () => {
    const { cloud, elsewhere } = await redirectingCloud();
    const adapter = new GadgetKeeperAdapter({ baseUrl: cloud.url, productKey: 'c'.repeat(32), retry: fastRetry });
    const credentials = { thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32) };
    const outcomes = [
      await adapter.activate('SN1').catch((e: unknown) => e),
      await adapter.targetVersion(credentials).catch((e: unknown) => e),
      await adapter.rename(credentials, 'x').catch((e: unknown) => e),
      await adapter.confirmVersion(credentials, 'v').catch((e: unknown) => e),
      await adapter.downloadFirmware(credentials, { id: 'v' }, { destination: destination() }).catch((e: unknown) => e),
    ];
    expect(elsewhere.requests.map((request) => `${request.method} ${request.url} ${String(request.headers['x-apikey'])}`)).toEqual([]);
    expect(cloud.requests.length).toBeGreaterThanOrEqual(5);
    // Each call failed: a redirect is not an answer.
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(Error);
  });

  it('Exosite: activation, content calls and the download stay on the configured host', async () => {
    const { cloud, elsewhere } = await redirectingCloud();
    const adapter = new ExositeAdapter({ baseUrl: cloud.url, vendor: 'acme', model: 'therm', retry: fastRetry });
    const credentials = { thingId: 'SN1', apiKey: 'd'.repeat(40) };
    await adapter.activate('SN1', { canDeliverCredentials: async () => true }).catch(() => undefined);
    await adapter.targetVersion(credentials).catch(() => undefined);
    await adapter.downloadFirmware(credentials, { id: 'fw.bin' }, { destination: destination() }).catch(() => undefined);
    expect(elsewhere.requests.map((request) => `${request.method} ${request.url}`)).toEqual([]);
    expect(cloud.requests.length).toBeGreaterThanOrEqual(3);
  });
});
