import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GadgetKeeperAdapter, type GadgetKeeperPaths } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { createCloudAdapter } from '../../../main/core/cloud/backends.ts';
import { loadLineConfig } from '../../../main/core/config/line-config.ts';
import { ConfigError } from '../../../main/core/errors.ts';

/** A real HTTP server on loopback that answers 404 and keeps every request it got, with its headers. */
async function recordingServer(): Promise<{ url: string; host: string; requests: IncomingMessage[]; server: Server }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"no"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `http://${host}`, host, requests, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const credentials = { thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32) };

describe('GadgetKeeper path templates never take the api key to another host', () => {
  for (const prefix of ['http://', '//']) {
    it(`a template starting with ${prefix}other-host is sent to the configured cloud, not to the other host`, async () => {
      const cloud = await recordingServer();
      const other = await recordingServer();
      servers.push(cloud.server, other.server);
      const templates = (path: string): Partial<GadgetKeeperPaths> => ({ targetVersion: path, rename: path, switchVersion: path, activate: path, firmware: path });
      const adapter = new GadgetKeeperAdapter({
        baseUrl: cloud.url,
        productKey: 'c'.repeat(32),
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        paths: templates(`${prefix}${other.host}/v1/things/{thingId}/steal.json`),
      });
      await adapter.targetVersion(credentials).catch(() => undefined);
      await adapter.rename(credentials, 'x').catch(() => undefined);
      await adapter.confirmVersion(credentials, 'v').catch(() => undefined);
      await adapter.activate('SN1').catch(() => undefined);
      await adapter.downloadFirmware(credentials, { id: 'v' }, { destination: join(mkdtempSync(join(tmpdir(), 'gk-host-')), 'fw.bin') }).catch(() => undefined);
      expect(other.requests).toHaveLength(0);
      expect(cloud.requests.length).toBe(5);
      for (const request of cloud.requests) expect(request.url).toMatch(/steal\.json$/);
    });
  }

  it('a line configuration with a path template that names a host is refused, saying what a template must be', async () => {
    for (const path of ['https://other.example/v1/{thingId}.json', 'http:other.example/v1/{thingId}.json', '//other.example/v1/{thingId}.json', '/\\other.example/x.json', '\\\\other.example/x.json', 'v1\\x.json']) {
      const file = join(mkdtempSync(join(tmpdir(), 'gk-paths-')), 'line.json');
      writeFileSync(file, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: 'https://api.gadgetkeeper.com', paths: { targetVersion: path } }, ports: [] }));
      const error = await loadLineConfig(file).catch((e: unknown) => e);
      expect(error, path).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/cloud\.paths\.targetVersion/);
      expect((error as ConfigError).message).toMatch(/a path on the cloud's own host \(as \/v1\/things\/\{thingId\}\.json\), with no scheme, "\/\/" host, backslash or space/);
    }
  });

  it('a relative template, as configurations written before the check have, loads as a path from the root and its calls reach the configured cloud', async () => {
    const cloud = await recordingServer();
    servers.push(cloud.server);
    const paths = {
      activate: 'v1/things/activate/{serialNumber}.json',
      rename: 'v1/things/{thingId}.json',
      targetVersion: 'v1/things/{thingId}/versions/target.json',
      firmware: 'v1/things/{thingId}/versions/{versionId}/firmware.json',
      switchVersion: '/v1/things/{thingId}/versions/current.json',
    };
    const file = join(mkdtempSync(join(tmpdir(), 'gk-paths-')), 'line.json');
    writeFileSync(file, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: cloud.url, paths }, ports: [] }));
    const config = await loadLineConfig(file);
    expect(config.cloud).toMatchObject({ paths: { rename: '/v1/things/{thingId}.json', switchVersion: '/v1/things/{thingId}/versions/current.json' } });
    const adapter = await createCloudAdapter(config.cloud);
    if (!(adapter instanceof GadgetKeeperAdapter)) throw new Error(`expected a GadgetKeeper adapter, got ${adapter.backend.id}`);
    await adapter.targetVersion(credentials).catch(() => undefined);
    await adapter.rename(credentials, 'x').catch(() => undefined);
    await adapter.confirmVersion(credentials, 'v').catch(() => undefined);
    await adapter.activate('SN1').catch(() => undefined);
    await adapter.downloadFirmware(credentials, { id: 'v' }, { destination: join(mkdtempSync(join(tmpdir(), 'gk-host-')), 'fw.bin') }).catch(() => undefined);
    const thing = credentials.thingId;
    expect(cloud.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      `GET /v1/things/${thing}/versions/target.json`,
      `PUT /v1/things/${thing}.json`,
      `PUT /v1/things/${thing}/versions/current.json`,
      'PUT /v1/things/activate/SN1.json',
      `GET /v1/things/${thing}/versions/v/firmware.json`,
    ]);
  });
});
