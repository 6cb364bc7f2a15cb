import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GadgetKeeperAdapter, type GadgetKeeperPaths } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
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
    for (const path of ['https://other.example/v1/{thingId}.json', '//other.example/v1/{thingId}.json', 'v1/things/{thingId}.json', '/\\other.example/x.json']) {
      const file = join(mkdtempSync(join(tmpdir(), 'gk-paths-')), 'line.json');
      writeFileSync(file, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: 'https://api.gadgetkeeper.com', paths: { targetVersion: path } }, ports: [] }));
      const error = await loadLineConfig(file).catch((e: unknown) => e);
      expect(error, path).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/cloud\.paths\.targetVersion/);
      expect((error as ConfigError).message).toMatch(/a path on the cloud's own host, starting with one "\/"/);
    }
  });
});
