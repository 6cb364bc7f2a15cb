import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { DEMO_GADGETKEEPER_SEED, startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { jsonFileSettingsStore } from '../../../main/core/desk/desk-settings.ts';
import { StationDesk, type DeskOptions } from '../../../main/core/desk/station-desk.ts';
import { startWebServer, type RunningWebServer } from '../../../main/core/serve/web-server.ts';

type Answer = { ok: boolean; value?: unknown; error?: string };

/** One WebSocket call on the wire format, and its answer. */
async function call(url: string, method: string, ...params: unknown[]): Promise<Answer> {
  const ws = new WebSocket(url);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as { kind: string; id: number; answer: Answer };
        if (message.kind === 'answer' && message.id === 1) resolve(message.answer);
      });
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method, params })));
      ws.once('error', reject);
    });
  } finally {
    ws.close();
  }
}

/**
 * The demo line replaces the station's line with simulated units (a
 * restart is the way back). A screen that may only watch and run the line
 * must not swap the production line for it, and a line given with --config
 * is not replaced from any screen.
 */
describe('station serve: the demo line does not replace the configured line', () => {
  let dir: string;
  let cloud: GadgetKeeperEmulator;
  let desk: StationDesk;
  let server: RunningWebServer;
  const wsUrl = () => `${server.url.replace('http', 'ws')}ws`;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'serve-demo-'));
    mkdirSync(join(dir, 'static'));
    writeFileSync(join(dir, 'static', 'index.html'), '<!doctype html><title>station</title>');
    cloud = await startGadgetKeeperEmulator(DEMO_GADGETKEEPER_SEED);
  });
  afterEach(async () => {
    await server?.close();
    await desk?.close(0);
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (options: Partial<DeskOptions>, allowSettings = false) => {
    desk = new StationDesk({ dataDir: dir, settings: jsonFileSettingsStore(join(dir, 'settings.json')), secretKey: randomBytes(32), ...options });
    await desk.init();
    server = await startWebServer({ desk, staticDir: join(dir, 'static'), allowSettings });
  };
  const linePorts = () => desk.snapshot().tiles.map((tile) => tile.port);

  it('a line from --config stays, even for a screen allowed to change settings', async () => {
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: cloud.url }, ports: ['/dev/ttyNOPE0'], autoStart: false });
    await open({ fixedConfig: { config, source: 'line.json' } }, true);
    expect(linePorts()).toEqual(['/dev/ttyNOPE0']);
    expect(await call(wsUrl(), 'startDemo')).toEqual({ ok: false, error: expect.stringMatching(/line\.json/) });
    expect(desk.snapshot().header.demo).toBe(false);
    expect(linePorts()).toEqual(['/dev/ttyNOPE0']);
  });

  it('a saved line stays for a screen started without --allow-settings', async () => {
    await open({}, true);
    const saved = await call(wsUrl(), 'saveSettings', { backend: 'gadgetkeeper', url: cloud.url, fields: {}, secret: 'pk-product-key-0001', ports: ['/dev/ttyNOPE0'], autoStart: false });
    expect(saved.ok).toBe(true);
    await server.close();
    server = await startWebServer({ desk, staticDir: join(dir, 'static') });
    expect(await call(wsUrl(), 'startDemo')).toEqual({ ok: false, error: expect.stringMatching(/--allow-settings/) });
    expect(desk.snapshot().header.demo).toBe(false);
    expect(linePorts()).toEqual(['/dev/ttyNOPE0']);
  });

  it('a station with no line yet may still start the demo from a screen that only watches', { timeout: 60_000 }, async () => {
    await open({ demoPorts: 1 });
    expect(await call(wsUrl(), 'startDemo')).toEqual({ ok: true, value: { ok: true } });
    expect(desk.snapshot().header.demo).toBe(true);
  });
});
