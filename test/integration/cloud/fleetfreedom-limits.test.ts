import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloudError } from '../../../main/core/cloud/cloud-error.ts';
import { FleetFreedomSession } from '../../../main/core/cloud/fleetfreedom/session.ts';

/** A hostile Fleet Freedom socket on loopback: answers too large to hold, and answers that never end. */

let server: WebSocketServer | undefined;
const sessions: FleetFreedomSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.close()));
  for (const client of server?.clients ?? []) client.terminate();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server that greets (with `greeting`), then answers each request with `answer`. */
async function hostile(answer: (socket: WebSocket, name: string, reqId: number) => void, greeting = 'connectionResponse {"errorCode":0}'): Promise<string> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server!.once('listening', resolve));
  server.on('connection', (socket) => {
    socket.send(greeting);
    socket.on('message', (raw) => {
      const text = raw.toString();
      const space = text.indexOf(' ');
      answer(socket, text.slice(0, space), (JSON.parse(text.slice(space + 1)) as { reqId: number }).reqId);
    });
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function session(url: string): FleetFreedomSession {
  const created = new FleetFreedomSession({ url, username: 'u', password: 'p', requestTimeoutMs: 5000, reconnectBaseDelayMs: 20 });
  sessions.push(created);
  return created;
}

describe('Fleet Freedom session against a hostile socket', () => {
  it('refuses an answer larger than the message limit, as an invalid response', async () => {
    const url = await hostile((socket, name, reqId) => socket.send(`${name}Response ${JSON.stringify({ errorCode: 0, reqId, pad: 'x'.repeat(1024 * 1024) })}`));
    const error = (await session(url).request('noop', {}, 'register').catch((e: unknown) => e)) as CloudError;
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({ failure: 'invalid-response' });
    expect(error.describe()).toBe(
      'step register: Fleet Freedom sent a message larger than 256 KiB, so the station closed the connection. Check the Fleet Freedom URL: it may point at something other than the Fleet Freedom socket API.',
    );
  });

  it('an answer that never ends (fragments without end) is cut off at the limit, long before the request deadline', async () => {
    const url = await hostile((socket) => {
      const block = Buffer.alloc(64 * 1024, 0x61);
      socket.send('noopResponse {"pad":"', { fin: false });
      const timer = setInterval(() => socket.send(block, { fin: false }), 5);
      socket.on('close', () => clearInterval(timer));
    });
    const started = performance.now();
    const error = (await session(url).request('noop', {}, 'register').catch((e: unknown) => e)) as CloudError;
    expect(error).toMatchObject({ failure: 'invalid-response' });
    expect(performance.now() - started).toBeLessThan(2500);
  });

  it('an answer under the request id but with another name is an invalid response naming both, never taken as the answer', async () => {
    // Answers noop as it should; anything else with `wrongName` under the request's own reqId.
    let wrongName = 'noopResponse';
    const url = await hostile((socket, name, reqId) => socket.send(`${name === 'noop' ? 'noopResponse' : wrongName} ${JSON.stringify({ errorCode: 0, reqId, provider: { id: 'SN1', company: 7 } })}`));
    const ff = session(url);
    const started = performance.now();
    const error = (await ff.request('mergeProvider', { provider: { kind: 'json', company: 7, id: 'SN1' } }, 'register').catch((e: unknown) => e)) as CloudError;
    expect(error).toBeInstanceOf(CloudError);
    // The server got the request: whether it added the provider is not known.
    expect(error).toMatchObject({ failure: 'invalid-response', outcomeUnknown: true, where: { step: 'register' } });
    expect(error.message).toBe('Fleet Freedom answered mergeProvider (request 1) with "noopResponse", not mergeProviderResponse');
    // At once, not when the request's 5 s run out.
    expect(performance.now() - started).toBeLessThan(2500);

    // A name of the server's choosing is quoted printable and short.
    wrongName = `\u001b]0;pwned\u0007\u202e${'x'.repeat(5000)}Response`;
    const quoted = (await ff.request('mergeProvider', { provider: { kind: 'json', company: 7, id: 'SN2' } }, 'register').catch((e: unknown) => e)) as CloudError;
    expect(quoted).toMatchObject({ failure: 'invalid-response' });
    expect(quoted.message).toMatch(/^Fleet Freedom answered mergeProvider \(request 2\) with "\\x1b\]0;pwned\\x07\\u202ex+…", not mergeProviderResponse$/);
    expect(quoted.message.length).toBeLessThan(200);

    // The session stays usable: the next request gets its own answer.
    expect(await ff.request('noop', {}, 'register')).toMatchObject({ errorCode: 0, reqId: 3 });
  });

  it('quotes a long message of a refusal as a short printable excerpt, at the greeting and at login', async () => {
    const message = `${'x'.repeat(2500)}\u001b[2J${'y'.repeat(2500)}`;
    for (const [greeting, answer] of [
      [`connectionResponse ${JSON.stringify({ errorCode: 99, message })}`, () => undefined],
      ['connectionResponse {"errorCode":8}', (socket: WebSocket, name: string, reqId: number) => socket.send(`${name}Response ${JSON.stringify({ errorCode: 99, reqId, message })}`)],
    ] as const) {
      const url = await hostile(answer, greeting);
      const error = (await session(url).request('noop', {}, 'register').catch((e: unknown) => e)) as CloudError;
      expect(error).toMatchObject({ failure: 'refused' });
      expect(error.message).toMatch(/error 99: x{100,}…\)$/);
      expect(error.message.length).toBeLessThan(300);
      expect(error.message).not.toContain('\u001b');
      await Promise.all(sessions.splice(0).map((created) => created.close()));
      for (const client of server!.clients) client.terminate();
      await new Promise((resolve) => server!.close(resolve));
    }
  });
});
