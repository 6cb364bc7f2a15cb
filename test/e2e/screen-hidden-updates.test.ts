import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tileSchema, type Update } from '../../contract/station-contract.ts';
import { jsonFileSettingsStore } from '../../main/core/desk/desk-settings.ts';
import { StationDesk } from '../../main/core/desk/station-desk.ts';
import { startWebServer } from '../../main/core/serve/web-server.ts';
import { useChromium } from '../helpers/chromium.ts';

const PORTS = 8;
const UPDATES = 20_000;

describe('a screen that is not drawn (a minimised window, a background tab)', () => {
  const browser = useChromium();

  it('holds the latest of each tile while it waits to draw, not every update of a shift', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'screen-hidden-'));
    const desk = new StationDesk({ dataDir: dir, settings: jsonFileSettingsStore(join(dir, 'settings.json')), secretKey: randomBytes(32) });
    await desk.init();
    // The real desk's subscribers, so the test can push what a busy line would, through the real server and socket.
    const screens: Array<(update: Update) => void> = [];
    const subscribe = desk.subscribe.bind(desk);
    desk.subscribe = (listener) => {
      screens.push(listener);
      return subscribe(listener);
    };
    const token = randomBytes(16).toString('hex');
    const server = await startWebServer({ desk, staticDir: resolve('out/renderer'), token });
    const page = await browser().newPage();
    try {
      // A page nobody sees gets no animation frames (browsers and Electron's background throttling hold them): hold them here too.
      await page.addInitScript(() => {
        window.requestAnimationFrame = () => 1;
      });
      await page.goto(`${server.url}#token=${token}`);
      await page.getByRole('heading', { name: 'No line is configured yet' }).waitFor();
      await expect.poll(() => screens.length).toBe(1);
      const cdp = await page.context().newCDPSession(page);
      const heapUsed = async () => {
        await cdp.send('HeapProfiler.collectGarbage');
        return (await cdp.send('Runtime.getHeapUsage')).usedSize;
      };
      const before = await heapUsed();

      // Ports failing and trying again for a while: every update a whole tile, with its failure text.
      for (let i = 0; i < UPDATES; i++) {
        const port = `/dev/ttyFAKE${i % PORTS}`;
        const tile = tileSchema.parse({
          port,
          slot: String((i % PORTS) + 1),
          state: 'failed',
          steps: [],
          failure: { step: 'flash', message: `port ${port}: try ${i}: ${'the unit stopped answering. '.repeat(100)}` },
          recent: Array.from({ length: 20 }, (_, n) => ({ serial: `THERM${String(i * 20 + n).padStart(14, '0')}`, result: 'failed', at: i })),
          queued: 0,
        });
        screens[0]!({ type: 'tile', tile });
        // Let the socket drain now and then, as a line's updates come over time.
        if (i % 500 === 499) await new Promise((done) => setTimeout(done, 5));
      }
      // A call answered after them: the page has taken every update by then (one socket, in order).
      await page.getByRole('textbox', { name: 'Operator' }).fill('Night Shift');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => desk.snapshot().header.operator?.name, { timeout: 60_000 }).toBe('Night Shift');
      await expect.poll(() => page.getByRole('textbox', { name: 'Operator' }).inputValue().catch(() => ''), { timeout: 60_000 }).toBe('');

      const grown = (await heapUsed()) - before;
      // 20 000 tiles of about 3.5 KB each held until the page is drawn would be some 70 MB; the latest of 8 are a few KB.
      expect(grown, `the page's heap grew by ${(grown / 1e6).toFixed(1)} MB`).toBeLessThan(16e6);
    } finally {
      await page.close();
      await server.close();
      await desk.close(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
