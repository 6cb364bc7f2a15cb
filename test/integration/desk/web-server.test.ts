import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { DEMO_GADGETKEEPER_SEED, startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { jsonFileSettingsStore } from '../../../main/core/desk/desk-settings.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { CONTENT_SECURITY_POLICY } from '../../../main/core/serve/content-security-policy.ts';
import { startWebServer, type RunningWebServer } from '../../../main/core/serve/web-server.ts';

const SECRET = 'pk-very-secret-product-key-0001';

/** A WebSocket client that speaks the wire format: calls by id, updates collected. */
async function client(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const updates: Array<{ type: string }> = [];
  const answers = new Map<number | null, unknown[]>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { kind: string; id: number | null; answer: unknown; update: { type: string } };
    if (message.kind === 'update') updates.push(message.update);
    else answers.set(message.id, [...(answers.get(message.id) ?? []), message.answer]);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 1;
  const raw = async (text: string, id: number | null) => {
    ws.send(text);
    const deadline = Date.now() + 5000;
    while (!answers.get(id)?.length) {
      if (Date.now() > deadline) throw new Error(`no answer to ${text.slice(0, 80)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return answers.get(id)!.shift() as { ok: boolean; value?: unknown; error?: string };
  };
  const call = (method: string, ...params: unknown[]) => {
    const id = nextId++;
    return raw(JSON.stringify({ id, method, params }), id);
  };
  return { ws, updates, call, raw };
}

describe('station serve: the preload contract over a WebSocket', () => {
  let dir: string;
  let desk: StationDesk;
  let server: RunningWebServer;
  let cloud: GadgetKeeperEmulator;
  const settingsFile = () => join(dir, 'settings.json');

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'desk-ws-'));
    cloud = await startGadgetKeeperEmulator(DEMO_GADGETKEEPER_SEED);
    desk = new StationDesk({ dataDir: dir, settings: jsonFileSettingsStore(settingsFile()), secretKey: randomBytes(32) });
    await desk.init();
    // These tests configure the station from the browser, which station serve allows only when told to.
    server = await startWebServer({ desk, staticDir: join(dir, 'static'), allowSettings: true });
  });
  afterEach(async () => {
    await server.close();
    await desk.close(0);
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const wsUrl = () => `${server.url.replace('http', 'ws')}ws`;

  it('sends a snapshot on connect and answers calls', async () => {
    const c = await client(wsUrl());
    await expect.poll(() => c.updates[0]?.type).toBe('snapshot');
    const snapshot = await c.call('snapshot');
    expect(snapshot).toMatchObject({ ok: true, value: { header: { configured: false, lineRunning: false }, tiles: [] } });
    c.ws.close();
  });

  it('a call named by an object that cannot be made text is refused, and the server answers on', async () => {
    const c = await client(wsUrl());
    // String() of {"toString": 1} throws: quoting it in the refusal once took the whole station serve down.
    for (const [id, method] of [[1, { toString: 1 }], [2, { valueOf: null, toString: null }], [3, [{ toString: 1 }]]] as const) {
      const answer = await c.raw(JSON.stringify({ id, method, params: [] }), id);
      expect(answer).toEqual({ ok: false, error: expect.stringMatching(/^refused: "<object>" is not a station call$/) });
    }
    expect(await c.call('snapshot')).toMatchObject({ ok: true });
    c.ws.close();
  });

  it('rejects malformed messages with an error and changes nothing', async () => {
    const c = await client(wsUrl());
    const before = await c.call('snapshot');
    const refusals = [
      await c.raw('{not json', null),
      await c.raw(JSON.stringify({ method: 'startLine', params: [] }), null),
      await c.raw(JSON.stringify({ id: 'x', method: 'startLine' }), null),
      await c.call('rm -rf'),
      await c.call('__proto__'),
      await c.call('constructor'),
      await c.call('retryUnit', 'abc'),
      await c.call('cancelPort'),
      await c.call('history', { serial: 'x', sql: 'DROP TABLE units' }),
      await c.call('saveSettings', { backend: 'gadgetkeeper', url: cloud.url, fields: {}, ports: ['/dev/null'], autoStart: false, apiKey: SECRET }),
      await c.call('saveSettings', { backend: 'nowhere', url: cloud.url, fields: {}, ports: [], autoStart: false }),
      await c.call('importProfile', 'x'.repeat(1_000_001)),
    ];
    for (const answer of refusals) {
      expect(answer.ok).toBe(false);
      expect(answer.error).toMatch(/refused|malformed|not a station call|not JSON|There is no cloud backend "nowhere"/);
    }
    expect(existsSync(settingsFile())).toBe(false);
    expect(await c.call('snapshot')).toEqual(before);
    c.ws.close();
  });

  it('a settings save that would not run is refused with the field named, and nothing is stored', async () => {
    const c = await client(wsUrl());
    const answer = await c.call('saveSettings', { backend: 'exosite', url: cloud.url, fields: {}, ports: [], autoStart: false });
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatch(/Vendor is required; Model is required/);
    expect(existsSync(settingsFile())).toBe(false);
    c.ws.close();
  });

  it('stores the cloud secret sealed, and never sends it back', async () => {
    const c = await client(wsUrl());
    const saved = await c.call('saveSettings', { backend: 'gadgetkeeper', url: cloud.url, fields: {}, secret: SECRET, ports: ['/dev/ttyNOPE0'], autoStart: false });
    expect(saved).toMatchObject({ ok: true, value: { backend: 'gadgetkeeper', secretStored: true, ports: [{ path: '/dev/ttyNOPE0' }] } });
    expect(JSON.stringify(saved)).not.toContain(SECRET);
    const stored = readFileSync(settingsFile(), 'utf8');
    expect(stored).not.toContain(SECRET);
    expect(JSON.parse(stored)).toHaveProperty('line.sealedSecret');
    // The line opened with the new settings: one idle tile for its port.
    const snapshot = (await c.call('snapshot')) as { value: { header: { configured: boolean }; tiles: Array<{ port: string; state: string }> } };
    expect(snapshot.value.header.configured).toBe(true);
    expect(snapshot.value.tiles).toEqual([expect.objectContaining({ port: '/dev/ttyNOPE0', state: 'idle' })]);
    for (const update of c.updates) expect(JSON.stringify(update)).not.toContain(SECRET);
    // Saving again without a secret keeps the stored one.
    const again = await c.call('saveSettings', { backend: 'gadgetkeeper', url: cloud.url, fields: {}, ports: ['/dev/ttyNOPE0'], autoStart: false });
    expect(again).toMatchObject({ ok: true, value: { secretStored: true } });
    c.ws.close();
  });

  it('a failing unit on an unopenable port is shown with its step and message, not thrown', async () => {
    const c = await client(wsUrl());
    await c.call('saveSettings', { backend: 'gadgetkeeper', url: cloud.url, fields: {}, secret: SECRET, ports: ['/dev/ttyNOPE0'], autoStart: false });
    expect(await c.call('startPort', '/dev/ttyNOPE0')).toEqual({ ok: true, value: { ok: true } });
    expect(await c.call('startPort', '/dev/ttyOTHER')).toMatchObject({ ok: false, error: expect.stringMatching(/not on this line/) });
    await expect
      .poll(async () => ((await c.call('snapshot')) as { value: { tiles: Array<{ state: string }> } }).value.tiles[0]!.state, { timeout: 10_000 })
      .toBe('attention');
    const tile = ((await c.call('snapshot')) as { value: { tiles: Array<{ failure: { step: string; message: string } }> } }).value.tiles[0]!;
    expect(tile.failure.step).toBe('identify');
    expect(tile.failure.message).toMatch(/ttyNOPE0/);
    c.ws.close();
  });

  it('imports a device profile, and shows what is wrong with a bad one without storing it', async () => {
    const c = await client(wsUrl());
    const bad = await c.call('importProfile', JSON.stringify({ name: 'broken', serial: { baudRate: 'fast' } }));
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/imported device profile is invalid: .*baudRate/);
    expect(existsSync(settingsFile())).toBe(false);
    const good = await c.call('importProfile', readFileSync('profiles/examples/at-thermometer.json', 'utf8'));
    expect(good).toMatchObject({ ok: true, value: { profileName: JSON.parse(readFileSync('profiles/examples/at-thermometer.json', 'utf8')).name } });
    expect(JSON.parse(readFileSync(settingsFile(), 'utf8'))).toHaveProperty('profile');
    c.ws.close();
  });

  it('refuses a WebSocket from a page it did not serve', async () => {
    await expect(client(wsUrl(), { Origin: 'https://evil.example' })).rejects.toThrow(/403/);
  });
});

describe('station serve: who may connect', () => {
  it('refuses to listen beyond loopback without a token', async () => {
    const desk = new StationDesk({ dataDir: mkdtempSync(join(tmpdir(), 'desk-ws-')), settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32) });
    await expect(startWebServer({ desk, staticDir: '/nonexistent', host: '0.0.0.0' })).rejects.toThrow(/access token/);
    await desk.close(0);
  });

  it('with a token, a WebSocket without it is refused and one with it is let in', async () => {
    const token = 'a-token-of-32-characters-0123456';
    const desk = new StationDesk({ dataDir: mkdtempSync(join(tmpdir(), 'desk-ws-')), settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32) });
    const server = await startWebServer({ desk, staticDir: '/nonexistent', host: '127.0.0.1', token });
    const url = `${server.url.replace('http', 'ws')}ws`;
    await expect(client(url)).rejects.toThrow(/401/);
    await expect(client(`${url}?token=wrong-token-wrong-token-wrong-tok`)).rejects.toThrow(/401/);
    const c = await client(`${url}?token=${token}`);
    expect((await c.call('snapshot')).ok).toBe(true);
    c.ws.close();
    await server.close();
    await desk.close(0);
  });

  it('serves the renderer folder and nothing beside it, with the CSP on every answer', async () => {
    // The renderer, and beside it what must never leave the machine: a secret file and a folder
    // whose name starts like the renderer's (a prefix check without the separator would let it through).
    const dir = mkdtempSync(join(tmpdir(), 'desk-static-'));
    const root = join(dir, 'renderer');
    mkdirSync(join(root, 'assets'), { recursive: true });
    mkdirSync(join(dir, 'renderer-private'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>station</title>');
    writeFileSync(join(root, 'assets', 'app.js'), 'console.log("station")');
    writeFileSync(join(dir, 'station.key'), 'SECRET-KEY-BESIDE-THE-RENDERER');
    writeFileSync(join(dir, 'renderer-private', 'notes.txt'), 'SECRET-NOTES-IN-A-LOOKALIKE-FOLDER');
    const desk = new StationDesk({ dataDir: dir, settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32) });
    const server = await startWebServer({ desk, staticDir: root });
    try {
      const page = await fetch(server.url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('<title>station</title>');
      const script = await fetch(`${server.url}assets/app.js`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(script.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);

      // fetch() folds plain ../ away, so the escapes are percent-encoded, as an attacker would send them.
      for (const escape of ['..%2fstation.key', '..%2f..%2f' + dir.slice(1).replaceAll('/', '%2f') + '%2fstation.key', '%2e%2e%2fstation.key', '..%2frenderer-private%2fnotes.txt', 'assets%2f..%2f..%2fstation.key']) {
        const answer = await fetch(`${server.url}${escape}`);
        const body = await answer.text();
        expect(answer.status, escape).toBe(404);
        expect(body, escape).not.toMatch(/SECRET/);
        expect(answer.headers.get('content-security-policy'), escape).toBe(CONTENT_SECURITY_POLICY);
      }
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
      await desk.close(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not follow a symbolic link in the renderer folder out of it, and follows one that stays inside', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'desk-static-'));
    const root = join(dir, 'renderer');
    mkdirSync(join(root, 'assets'), { recursive: true });
    mkdirSync(join(dir, 'private'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>station</title>');
    writeFileSync(join(dir, 'station.key'), 'SECRET-KEY-BESIDE-THE-RENDERER');
    writeFileSync(join(dir, 'private', 'notes.txt'), 'SECRET-NOTES-IN-A-LINKED-FOLDER');
    // A file link and a folder link that point out, and a link that stays inside (as a build may leave).
    symlinkSync(join(dir, 'station.key'), join(root, 'assets', 'app.js'));
    symlinkSync(join(dir, 'private'), join(root, 'docs'));
    symlinkSync(join(root, 'index.html'), join(root, 'start.html'));
    const desk = new StationDesk({ dataDir: dir, settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32) });
    const server = await startWebServer({ desk, staticDir: root });
    try {
      for (const escape of ['assets/app.js', 'docs/notes.txt']) {
        const answer = await fetch(`${server.url}${escape}`);
        const body = await answer.text();
        expect(answer.status, escape).toBe(404);
        expect(body, escape).not.toMatch(/SECRET/);
        expect(answer.headers.get('content-security-policy'), escape).toBe(CONTENT_SECURITY_POLICY);
      }
      const inside = await fetch(`${server.url}start.html`);
      expect(inside.status).toBe(200);
      expect(await inside.text()).toContain('<title>station</title>');
    } finally {
      await server.close();
      await desk.close(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
