import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { DEMO_GADGETKEEPER_SEED, startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { jsonFileSettingsStore } from '../../../main/core/desk/desk-settings.ts';
import { dispatch } from '../../../main/core/desk/dispatch.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { startWebServer, type RunningWebServer, type WebServerOptions } from '../../../main/core/serve/web-server.ts';
import { dataFolder } from '../../../main/core/storage/data-folder.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';
import { rawWebSocket, type RawWebSocket } from '../../helpers/raw-websocket.ts';

const SECRET = 'pk-very-secret-product-key-0001';

type Answer = { ok: boolean; value?: unknown; error?: string };

/** A WebSocket client on the wire format: calls by id, all answers kept in order. */
async function client(url: string) {
  const ws = new WebSocket(url);
  const answers: Array<{ id: number | null; answer: Answer }> = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { kind: string; id: number | null; answer: Answer };
    if (message.kind === 'answer') answers.push({ id: message.id, answer: message.answer });
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 1;
  const call = async (method: string, ...params: unknown[]): Promise<Answer> => {
    const id = nextId++;
    ws.send(JSON.stringify({ id, method, params }));
    await expect.poll(() => answers.some((a) => a.id === id), { timeout: 10_000 }).toBe(true);
    return answers.find((a) => a.id === id)!.answer;
  };
  return { ws, answers, call };
}

/** A listener standing in for an attacker's server: it records every request and every raw connection. */
async function listener(): Promise<{ url: string; port: number; requests: IncomingHttpHeaders[]; connections: () => number; close: () => Promise<void> }> {
  const requests: IncomingHttpHeaders[] = [];
  let connections = 0;
  const server: Server = createServer((request, response) => {
    requests.push(request.headers);
    response.end('{}');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('station serve, hardened', () => {
  let dir: string;
  let desk: StationDesk;
  let server: RunningWebServer;
  let cloud: GadgetKeeperEmulator;
  let attacker: Awaited<ReturnType<typeof listener>>;
  const settingsFile = () => join(dir, 'settings.json');
  const port = () => Number(new URL(server.url).port);
  const wsUrl = () => `${server.url.replace('http', 'ws')}ws`;

  const serve = async (options: Partial<WebServerOptions> = {}) => {
    server = await startWebServer({ desk, staticDir: join(dir, 'static'), ...options });
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'serve-hard-'));
    mkdirSync(join(dir, 'static'));
    writeFileSync(join(dir, 'static', 'index.html'), '<!doctype html><title>station</title>');
    writeFileSync(join(dir, 'station.key'), randomBytes(32), { mode: 0o600 });
    cloud = await startGadgetKeeperEmulator(DEMO_GADGETKEEPER_SEED);
    attacker = await listener();
    desk = new StationDesk({ dataDir: dir, settings: jsonFileSettingsStore(settingsFile()), secretKey: randomBytes(32) });
    await desk.init();
  });
  afterEach(async () => {
    await server?.close();
    await desk.close(0);
    await cloud.stop();
    await attacker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('DNS rebinding: only its own host names', () => {
    it('refuses a WebSocket whose Host and Origin name another site, even though they match each other', async () => {
      await serve();
      const forged = await rawWebSocket(port(), '/ws', { Host: `evil.example:${port()}`, Origin: `http://evil.example:${port()}` });
      expect(forged.response).toMatch(/^HTTP\/1.1 403/);
      forged.socket.destroy();
      // The same request by the station's own name is let in.
      const own = await rawWebSocket(port(), '/ws', { Host: `127.0.0.1:${port()}`, Origin: `http://127.0.0.1:${port()}` });
      expect(own.response).toMatch(/^HTTP\/1.1 101/);
      own.socket.destroy();
      // A page of this station opened by another of its names is still another origin for the check.
      const crossed = await rawWebSocket(port(), '/ws', { Host: `127.0.0.1:${port()}`, Origin: `http://evil.example:${port()}` });
      expect(crossed.response).toMatch(/^HTTP\/1.1 403/);
      crossed.socket.destroy();
    });

    it('refuses the page itself under a foreign Host, and answers to a name the operator allowed', async () => {
      await serve({ allowedHosts: ['station-7.line.example'] });
      const get = (host: string) =>
        new Promise<number>((resolve, reject) => {
          const socket = net.connect(port(), '127.0.0.1', () => socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
          let head = '';
          socket.on('data', (chunk) => (head += chunk.toString()));
          socket.on('end', () => resolve(Number(/^HTTP\/1.1 (\d+)/.exec(head)?.[1])));
          socket.on('error', reject);
        });
      expect(await get(`evil.example:${port()}`)).toBe(403);
      expect(await get('127.0.0.1')).toBe(403);
      expect(await get(`127.0.0.1:${port()}`)).toBe(200);
      expect(await get(`station-7.line.example:${port()}`)).toBe(200);
      const named = await rawWebSocket(port(), '/ws', { Host: `station-7.line.example:${port()}`, Origin: `http://station-7.line.example:${port()}` });
      expect(named.response).toMatch(/^HTTP\/1.1 101/);
      named.socket.destroy();
    });
  });

  describe('settings only when station serve was started to allow them', () => {
    it('without --allow-settings, saving settings, importing a profile and uploading firmware are refused with how to allow them', async () => {
      await serve();
      const c = await client(wsUrl());
      const answers = [
        await c.call('saveSettings', { backend: 'gadgetkeeper', url: cloud.url, fields: {}, secret: SECRET, ports: ['/dev/ttyNOPE0'], autoStart: false }),
        await c.call('importProfile', readFileSync('profiles/examples/at-thermometer.json', 'utf8')),
        await c.call('startFirmwareUpload', { name: 'fw.bin', size: 10 }),
        // Its checks look at the paths a screen names: no probe of the station's files for a screen that only watches.
        await c.call('checkSettings', { backend: 'gadgetkeeper', url: cloud.url, fields: {}, ports: ['/etc/shadow'], autoStart: false }),
      ];
      for (const answer of answers) expect(answer).toEqual({ ok: false, error: expect.stringMatching(/refused\. .*--allow-settings/) });
      expect(existsSync(settingsFile())).toBe(false);
      // Running the line is not configuring it: still answered.
      expect((await c.call('getSettings')).ok).toBe(true);
      c.ws.close();
    });
  });

  describe('with --allow-settings, the secret and the files stay put', () => {
    beforeEach(() => serve({ allowSettings: true }));

    it('a URL change that would carry the stored secret elsewhere is refused until the secret is typed again', async () => {
      const c = await client(wsUrl());
      expect(await c.call('saveSettings', { backend: 'gadgetkeeper', url: cloud.url, fields: {}, secret: SECRET, ports: ['/dev/ttyNOPE0'], autoStart: false })).toMatchObject({ ok: true });
      const moved = await c.call('saveSettings', { backend: 'gadgetkeeper', url: attacker.url, fields: {}, ports: ['/dev/ttyNOPE0'], autoStart: false });
      expect(moved).toEqual({ ok: false, error: expect.stringMatching(/The cloud moved .*127\.0\.0\.1:\d+.*Type the product key for the new address again/) });
      expect(JSON.parse(readFileSync(settingsFile(), 'utf8')).line.url).toBe(cloud.url);
      // Given again, the new address is taken with the new secret only.
      expect(await c.call('saveSettings', { backend: 'gadgetkeeper', url: attacker.url, fields: {}, secret: 'pk-for-the-other-cloud', ports: ['/dev/ttyNOPE0'], autoStart: false })).toMatchObject({ ok: true, value: { url: attacker.url, secretStored: true } });
      expect(JSON.stringify(attacker.requests)).not.toContain(SECRET);
      c.ws.close();
    });

    it('cannot "flash" the station key to a tcp:// listener of its own', async () => {
      mkdirSync(join(dir, 'firmware-files'));
      const c = await client(wsUrl());
      const ff = (fields: Record<string, string>, ports: string[]) => ({
        backend: 'fleetfreedom',
        url: 'ws://127.0.0.1:1',
        fields: { username: 'u', company: '1', providerKind: 'json', firmwareVersion: 'v1', ...fields },
        secret: 'ff-password',
        ports,
        autoStart: true,
      });
      const keyToListener = await c.call('saveSettings', ff({ firmwarePath: join(dir, 'station.key') }, [`tcp://127.0.0.1:${attacker.port}`]));
      expect(keyToListener).toEqual({ ok: false, error: expect.stringMatching(/Port tcp:\/\/127\.0\.0\.1:\d+ is not one of the tcp:\/\/ ports .*tcpPorts/) });
      const keyAsFirmware = await c.call('saveSettings', ff({ firmwarePath: join(dir, 'station.key') }, ['/dev/ttyNOPE0']));
      expect(keyAsFirmware).toEqual({ ok: false, error: expect.stringMatching(/Firmware file .*station\.key is outside the firmware folder/) });
      const keyAsPort = await c.call('saveSettings', ff({}, [join(dir, 'station.key')]));
      expect(keyAsPort).toEqual({ ok: false, error: expect.stringMatching(/Port .*station\.key is not a serial device/) });
      expect(existsSync(settingsFile())).toBe(false);
      expect(attacker.connections()).toBe(0);
      c.ws.close();
    });

    it('uploads firmware in chunks into the firmware folder, and the line can then name it', async () => {
      const c = await client(wsUrl());
      const image = randomBytes(600_000);
      const started = await c.call('startFirmwareUpload', { name: 'therm v1.2.0.bin', size: image.length });
      expect(started).toMatchObject({ ok: true, value: { name: 'therm_v1.2.0.bin' } });
      const { upload } = started.value as { upload: string };
      let last: Answer | undefined;
      for (let offset = 0; offset < image.length; offset += 256 * 1024) {
        last = await c.call('sendFirmwareChunk', { upload, offset, data: image.subarray(offset, offset + 256 * 1024).toString('base64') });
      }
      expect(last).toMatchObject({ ok: true, value: { done: true, received: 600_000, name: 'therm_v1.2.0.bin' } });
      expect(readFileSync(join(dir, 'firmware-files', 'therm_v1.2.0.bin')).equals(image)).toBe(true);
      const saved = await c.call('saveSettings', {
        backend: 'fleetfreedom',
        url: 'ws://127.0.0.1:1',
        fields: { username: 'u', company: '1', providerKind: 'json', firmwarePath: 'therm_v1.2.0.bin', firmwareVersion: 'v1.2.0' },
        secret: 'ff-password',
        ports: ['/dev/ttyNOPE0'],
        autoStart: false,
      });
      expect(saved).toMatchObject({ ok: true, value: { fields: { firmwarePath: 'therm_v1.2.0.bin' }, firmwareFolder: join(dir, 'firmware-files') } });
      // A chunk too large for the contract never reaches the desk.
      expect(await c.call('sendFirmwareChunk', { upload, offset: 0, data: 'A'.repeat(400_000) })).toMatchObject({ ok: false, error: expect.stringMatching(/malformed/) });
      c.ws.close();
    });
  });

  it('the app window (no WebSocket) is held to the same station policy', async () => {
    const answer = await dispatch(desk, 'saveSettings', [{ backend: 'gadgetkeeper', url: cloud.url, fields: {}, secret: SECRET, ports: [`tcp://127.0.0.1:${attacker.port}`], autoStart: true }]);
    expect(answer).toEqual({ ok: false, error: expect.stringMatching(/tcpPorts/) });
  });

  describe('back-pressure', () => {
    it('answers calls beyond those in flight with "busy", and every call gets an answer', async () => {
      await serve();
      const c = await client(wsUrl());
      for (let id = 1000; id < 1300; id++) c.ws.send(JSON.stringify({ id, method: 'history', params: [{}] }));
      await expect.poll(() => c.answers.length, { timeout: 20_000 }).toBe(300);
      const busy = c.answers.filter((a) => /^busy: this screen has 16 calls/.test(a.answer.error ?? ''));
      expect(busy.length).toBeGreaterThan(0);
      expect(busy.every((a) => a.id !== null && a.id >= 1000)).toBe(true);
      expect(c.answers.filter((a) => a.answer.ok).length).toBeGreaterThanOrEqual(16);
      c.ws.close();
    });

    it('refuses connections past the cap', async () => {
      await serve();
      const open = await Promise.all(Array.from({ length: 16 }, () => client(wsUrl())));
      await expect(client(wsUrl())).rejects.toThrow(/503/);
      open[0]!.ws.close();
      await new Promise((resolve) => open[0]!.ws.once('close', resolve));
      await expect.poll(async () => client(wsUrl()).then((c) => (c.ws.close(), 'in'), () => 'refused'), { timeout: 5000 }).toBe('in');
      for (const c of open) c.ws.close();
    });

    it('stops reading a client that sends calls and does not read the answers, then disconnects it', async () => {
      await serve({ limits: { maxBufferedBytes: 256 * 1024, stallMs: 1000 } });
      const flood = await rawWebSocket(port(), '/ws', { Host: `127.0.0.1:${port()}` });
      expect(flood.response).toMatch(/^HTTP\/1.1 101/);
      // The answers fill the kernel's buffers, then the server's own; past its limit the server reads no more, and lets go of this client.
      for (let id = 1; id <= 100_000; id++) flood.sendText(JSON.stringify({ id, method: 'snapshot', params: [] }));
      const stop = flood.keepWriting('{}', 200);
      await flood.closed;
      stop();
    }, 60_000);
  });

  describe('history exports', () => {
    /** Reads the socket's messages up to the answer to call `id`: undefined when the server hung up first. */
    function answerTo(reader: RawWebSocket, id: number): Promise<{ ok: boolean; value?: string } | undefined> {
      return new Promise((resolve) => {
        void reader.closed.then(() => resolve(undefined));
        reader.startReading((text) => {
          const message = JSON.parse(text) as { kind: string; id: number | null; answer: { ok: boolean; value?: string } };
          if (message.kind === 'answer' && message.id === id) resolve(message.answer);
        });
      });
    }

    /** A station whose journal holds `units` failed tries with long errors (the most a screen is shown): a JSON export of ~`units` × 4.5 KB. */
    async function stationWithHistory(units: number): Promise<StationDesk> {
      const key = randomBytes(32);
      const dataDir = join(dir, 'busy-station');
      mkdirSync(dataDir, { mode: 0o700 });
      const journal = Journal.open(dataFolder(dataDir).journal, new SecretBox(key));
      const error = `the unit did not answer: ${'x'.repeat(3900)}`;
      for (let i = 0; i < units; i++) journal.finishUnit(journal.startUnit(`EXP${String(i).padStart(6, '0')}`, '/dev/ttyNOPE0').id, 'failed', { step: 'flash', error });
      journal.close();
      const station = new StationDesk({ dataDir, settings: jsonFileSettingsStore(join(dataDir, 'settings.json')), secretKey: key });
      await station.init();
      await station.saveSettings({ backend: 'gadgetkeeper', url: cloud.url, fields: {}, secret: SECRET, ports: ['/dev/ttyNOPE0'], autoStart: false });
      return station;
    }

    it('one runs at a time for the whole station: another asked meanwhile, from another screen, is refused, and the first completes', async () => {
      // ~27 MB: far more than the kernel holds for a client that does not read.
      const units = 6000;
      const busy = await stationWithHistory(units);
      try {
        server = await startWebServer({ desk: busy, staticDir: join(dir, 'static'), limits: { stallMs: 120_000 } });
        // A screen that asks for the whole history and does not read it yet: its answer waits in the server.
        const slow = await rawWebSocket(port(), '/ws', { Host: `127.0.0.1:${port()}` });
        expect(slow.response).toMatch(/^HTTP\/1.1 101/);
        slow.sendText(JSON.stringify({ id: 1, method: 'exportJson', params: [{}] }));
        // Another screen's exports (of nothing, so quick) go through until the first one is running, then are refused.
        const other = await client(wsUrl());
        let refusal: Answer | undefined;
        await expect
          .poll(
            async () => {
              const answer = await other.call('exportCsv', { serial: 'NO-SUCH-UNIT' });
              if (!answer.ok) refusal = answer;
              return answer.ok;
            },
            { timeout: 30_000, interval: 20 },
          )
          .toBe(false);
        expect(refusal?.error).toBe('exportCsv: refused, an export is already running on this station (from this screen or another); try again when it finishes');
        // Other calls are not held up by it.
        expect(await other.call('history', { limit: 1 })).toMatchObject({ ok: true });
        // The first screen reads at last: its export arrives whole.
        const first = new Promise<{ ok: boolean; value?: string }>((resolve) =>
          slow.startReading((text) => {
            const message = JSON.parse(text) as { kind: string; id: number | null; answer: { ok: boolean; value?: string } };
            if (message.kind === 'answer' && message.id === 1) resolve(message.answer);
          }),
        );
        const answer = await first;
        expect(answer.ok).toBe(true);
        expect((JSON.parse(answer.value!) as unknown[]).length).toBe(units);
        // Once it went out, the station takes the next export.
        await expect.poll(async () => (await other.call('exportCsv', { serial: 'NO-SUCH-UNIT' })).ok, { timeout: 10_000 }).toBe(true);
        slow.socket.destroy();
        other.ws.close();
      } finally {
        await server.close();
        await busy.close(0);
      }
    }, 120_000);

    it('a screen that asks for an export and stops reading gives the slot back once it has taken nothing for stallMs, however little of it waits', async () => {
      const busy = await stationWithHistory(6000);
      try {
        // Room for the whole export unread, so the socket is never over its byte limit: only the export holds the slot.
        // And no allowance for a slow link: the export is overdue once it has taken nothing for stallMs.
        server = await startWebServer({
          desk: busy,
          staticDir: join(dir, 'static'),
          limits: { maxBufferedBytes: 256 * 1024 * 1024, stallMs: 1000, slowestExportBytesPerSecond: 1e12 },
        });
        const stuck = await rawWebSocket(port(), '/ws', { Host: `127.0.0.1:${port()}` });
        stuck.sendText(JSON.stringify({ id: 1, method: 'exportJson', params: [{}] }));
        const other = await client(wsUrl());
        // Once the first export is under way, the other screen is refused...
        await expect.poll(async () => (await other.call('exportCsv', { serial: 'NO-SUCH-UNIT' })).ok, { timeout: 30_000, interval: 20 }).toBe(false);
        // ...until the screen that does not read is let go, and the station exports again.
        await expect.poll(async () => (await other.call('exportCsv', { serial: 'NO-SUCH-UNIT' })).ok, { timeout: 30_000, interval: 100 }).toBe(true);
        // The writes it makes now find the connection gone: the server hung up on it.
        stuck.keepWriting(JSON.stringify({ id: 2, method: 'history', params: [{ limit: 1 }] }), 50);
        await stuck.closed;
        other.ws.close();
      } finally {
        await server.close();
        await busy.close(0);
      }
    }, 120_000);

    it('a screen on a slow link gets the whole export, however long past stallMs, while it keeps within the slowest rate allowed', async () => {
      const units = 6000;
      const busy = await stationWithHistory(units);
      try {
        // ~27 MB at no less than 512 KiB/s: about 54 s allowed (5 times what it takes), though no message completes within stallMs.
        server = await startWebServer({
          desk: busy,
          staticDir: join(dir, 'static'),
          limits: { maxBufferedBytes: 256 * 1024 * 1024, stallMs: 1000, slowestExportBytesPerSecond: 512 * 1024 },
        });
        const reader = await rawWebSocket(port(), '/ws', { Host: `127.0.0.1:${port()}` });
        let gone = false;
        void reader.closed.then(() => (gone = true));
        reader.sendText(JSON.stringify({ id: 1, method: 'exportJson', params: [{}] }));
        const answer = answerTo(reader, 1);
        // A slow link: the client takes at most 512 KiB every 200 ms (about 2.5 MiB/s), so the export takes seconds.
        const started = Date.now();
        let takenNow = 0;
        reader.socket.on('data', (chunk: Buffer) => {
          takenNow += chunk.length;
          if (takenNow >= 512 * 1024) reader.socket.pause();
        });
        const pace = setInterval(() => {
          takenNow = 0;
          reader.socket.resume();
        }, 200);
        const whole = await answer.finally(() => clearInterval(pace));
        expect(gone).toBe(false);
        expect(whole?.ok).toBe(true);
        expect((JSON.parse(whole!.value!) as unknown[]).length).toBe(units);
        // It did take longer than stallMs: without the allowance it would have been cut off.
        expect(Date.now() - started).toBeGreaterThan(1000);
        reader.socket.destroy();
      } finally {
        await server.close();
        await busy.close(0);
      }
    }, 120_000);

    it('a screen quiet for longer than stallMs still gets a big export it reads after a short pause', async () => {
      const units = 6000;
      const busy = await stationWithHistory(units);
      try {
        server = await startWebServer({ desk: busy, staticDir: join(dir, 'static'), limits: { stallMs: 6000 } });
        const reader = await rawWebSocket(port(), '/ws', { Host: `127.0.0.1:${port()}` });
        // Nothing is sent to it for longer than stallMs: the line is quiet.
        await new Promise((resolve) => setTimeout(resolve, 6500));
        let gone = false;
        void reader.closed.then(() => (gone = true));
        reader.sendText(JSON.stringify({ id: 1, method: 'exportJson', params: [{}] }));
        // It reads after a pause well under stallMs (the export is built meanwhile, then waits for it), and the export arrives whole.
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const answer = await answerTo(reader, 1);
        expect(gone).toBe(false);
        expect(answer?.ok).toBe(true);
        expect((JSON.parse(answer!.value!) as unknown[]).length).toBe(units);
        reader.socket.destroy();
      } finally {
        await server.close();
        await busy.close(0);
      }
    }, 120_000);
  });

  it('refuses a token under 16 characters, on loopback too', async () => {
    await expect(startWebServer({ desk, staticDir: join(dir, 'static'), token: 'short' })).rejects.toThrow(/5 characters long; it needs at least 16/);
  });
});
