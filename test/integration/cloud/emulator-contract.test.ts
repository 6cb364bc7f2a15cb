import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startExositeEmulator, type ExositeEmulator } from '../../../main/core/cloud/exosite/emulator.ts';
import { FF, startFleetFreedomEmulator, type FleetFreedomEmulator } from '../../../main/core/cloud/fleetfreedom/emulator.ts';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';

describe('GadgetKeeper emulator, spoken to directly', () => {
  it('accepts the key as the ApiKey query parameter too, and answers writes with 204 and no body', async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'P', serialNumbers: ['S1'], versions: [{ name: 'v', firmware: { size: 10 } }] }] });
    try {
      const { thingId, apiKey } = (await (await fetch(`${emulator.url}/v1/things/activate/S1.json`, { method: 'PUT' })).json()) as { thingId: string; apiKey: string };
      const target = await fetch(`${emulator.url}/v1/things/${thingId}/versions/target.json?ApiKey=${apiKey}`);
      expect(target.status).toBe(200);
      const rename = await fetch(`${emulator.url}/v1/things/${thingId}.json`, { method: 'PUT', headers: { 'X-ApiKey': apiKey }, body: JSON.stringify({ name: 'n' }) });
      expect(rename.status).toBe(204);
      expect(await rename.text()).toBe('');
      expect((await fetch(`${emulator.url}/v1/things/activate/NOPE.json`, { method: 'PUT' })).status).toBe(404);
    } finally {
      await emulator.stop();
    }
  });
});

describe('Exosite emulator, spoken to directly', () => {
  let emulator: ExositeEmulator;
  let cik: string;
  beforeAll(async () => {
    emulator = await startExositeEmulator({ models: [{ vendor: 'v', model: 'm', serialNumbers: ['S1'], content: [{ id: 'fw', firmware: { base64: Buffer.from('0123456789').toString('base64') } }] }] });
    const activation = await fetch(`${emulator.url}/provision/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'vendor=v&model=m&sn=S1',
    });
    cik = await activation.text();
  });
  afterAll(() => emulator.stop());
  const download = (range?: string) =>
    fetch(`${emulator.url}/provision/download?vendor=v&model=m&id=fw`, { headers: { 'X-Exosite-CIK': cik, ...(range ? { Range: range } : {}) } });

  it('issues a 40-hex CIK', () => {
    expect(cik).toMatch(/^[0-9a-f]{40}$/);
  });

  it('honours Range as X-Y, X- and -Y with 206 and Content-Range, and 416 beyond the end', async () => {
    for (const [range, body, contentRange] of [
      ['bytes=2-4', '234', 'bytes 2-4/10'],
      ['bytes=7-', '789', 'bytes 7-9/10'],
      ['bytes=-2', '89', 'bytes 8-9/10'],
    ] as const) {
      const response = await download(range);
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(contentRange);
      expect(await response.text()).toBe(body);
    }
    const beyond = await download('bytes=20-');
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */10');
    expect(await (await download()).text()).toBe('0123456789');
  });

  it('answers info as one CSV line and the server time as unix seconds', async () => {
    const info = await (await fetch(`${emulator.url}/provision/download?vendor=v&model=m&id=fw&info=true`, { headers: { 'X-Exosite-CIK': cik } })).text();
    expect(info).toMatch(/^application\/octet-stream,10,\d+,$/);
    const time = Number(await (await fetch(`${emulator.url}/timestamp`)).text());
    expect(Math.abs(time - Date.now() / 1000)).toBeLessThan(5);
  });
});

describe('Fleet Freedom emulator, spoken to directly', () => {
  let emulator: FleetFreedomEmulator;
  beforeAll(async () => {
    emulator = await startFleetFreedomEmulator({ companies: [{ id: 1, name: 'C' }], users: [{ username: 'u', password: 'p', companies: [1] }] }, { connectionDelayMs: 50 });
  });
  afterAll(() => emulator.stop());

  function connect(ghostId = '') {
    const socket = new WebSocket(`${emulator.url}/${ghostId}`);
    const frames: Array<{ name: string; body: Record<string, unknown> }> = [];
    const waiters: Array<() => void> = [];
    socket.on('message', (raw) => {
      const text = raw.toString();
      const space = text.indexOf(' ');
      frames.push({ name: text.slice(0, space), body: JSON.parse(text.slice(space + 1)) as Record<string, unknown> });
      waiters.splice(0).forEach((wake) => wake());
    });
    const next = async () => {
      while (frames.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
      return frames.shift()!;
    };
    const ask = async (name: string, body: object) => {
      socket.send(`${name} ${JSON.stringify(body)}`);
      return next();
    };
    return { socket, next, ask, opened: new Promise((resolve) => socket.once('open', resolve)) };
  }

  it('speaks first: 8 without a session, 7 for an unknown ghostId', async () => {
    const fresh = connect();
    expect(await fresh.next()).toMatchObject({ name: 'connectionResponse', body: { errorCode: FF.userNotLoggedIn } });
    fresh.socket.close();
    const stale = connect('deadbeef');
    expect(await stale.next()).toMatchObject({ name: 'connectionResponse', body: { errorCode: FF.sessionExpired } });
    stale.socket.close();
  });

  it('closes a connection that sends before connectionResponse', async () => {
    const eager = connect();
    await eager.opened;
    eager.socket.send('noop {}');
    const code = await new Promise<number>((resolve) => eager.socket.once('close', (c) => resolve(c)));
    expect(code).toBe(1008);
  });

  it('updates only with the right v (6 otherwise), 43 for an unknown provider, 61 for unknown commands', async () => {
    const client = connect();
    await client.next();
    const login = await client.ask('login', { username: 'u', password: 'p', userAgent: 't', reqId: 1 });
    expect(login).toMatchObject({ name: 'loginResponse', body: { reqId: 1, errorCode: 0, ghostId: expect.any(String) } });
    expect((await client.ask('mergeProvider', { reqId: 2, provider: { kind: 'json', company: 1, id: 'P1' } })).body).toMatchObject({ reqId: 2, errorCode: 0, provider: { id: 'P1', company: 1 } });
    expect((await client.ask('mergeProvider', { reqId: 3, provider: { kind: 'json', company: 1, id: 'P1', v: 9 } })).body.errorCode).toBe(FF.wrongVersionKey);
    expect((await client.ask('mergeProvider', { reqId: 4, provider: { kind: 'json', company: 1, id: 'P1', v: 1 } })).body.errorCode).toBe(0);
    expect((await client.ask('mergeProvider', { reqId: 5, provider: { kind: 'json', company: 1, id: 'P2', v: 1 } })).body.errorCode).toBe(FF.providerNotFound);
    expect((await client.ask('mergeProvider', { reqId: 6, provider: { kind: 'toaster', company: 1, id: 'P3' } })).body.errorCode).toBe(FF.invalidData);
    expect(await client.ask('teleport', { reqId: 7 })).toMatchObject({ name: 'teleportResponse', body: { reqId: 7, errorCode: FF.unknownCommand } });
    expect(await client.ask('noop', { reqId: 8 })).toMatchObject({ name: 'noopResponse', body: { errorCode: 0 } });
    expect(emulator.created).toBe(1);
    client.socket.close();
  });
});
