import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { GADGETKEEPER } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { createHttpClient, IDLE_SOCKET_MS } from '../../../main/core/cloud/http.ts';

describe('cloud HTTP client: idle keep-alive sockets', () => {
  it('closes an idle socket itself before a server would, so the first call after a pause never lands on a dead socket', { timeout: 15_000 }, async () => {
    const server = createServer((_request, response) => response.end('ok'));
    // A server that would keep the socket for a minute: only the client's own limit closes it.
    server.keepAliveTimeout = 60_000;
    let connections = 0;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const client = createHttpClient({ baseUrl: `http://127.0.0.1:${port}` }, GADGETKEEPER);
    try {
      await client.get('/a');
      await client.get('/b');
      expect(connections).toBe(1); // kept alive between calls in a burst
      await new Promise((resolve) => setTimeout(resolve, IDLE_SOCKET_MS + 300));
      await client.get('/c');
      expect(connections).toBe(2); // the idle socket was closed by the client, a fresh one opened
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
