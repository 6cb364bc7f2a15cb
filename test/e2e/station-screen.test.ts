import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { StationDesk } from '../../main/core/desk/station-desk.ts';
import { startWebServer } from '../../main/core/serve/web-server.ts';
import { startStationServe, type ServedStation } from '../helpers/station-serve.ts';

/** Debian's Chromium, never a downloaded browser. */
const CHROMIUM = process.env.STATION_CHROMIUM ?? '/usr/bin/chromium';
const SCREENS = resolve('test-results/screens');

async function openScreen(browser: Browser, url: string): Promise<{ page: Page; tileUpdates: Array<{ port: string; at: number }> }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const tileUpdates: Array<{ port: string; at: number }> = [];
  // Every update the station pushes, as the browser received it: to check the coalescing.
  page.on('websocket', (ws) =>
    ws.on('framereceived', (frame) => {
      const message = JSON.parse(String(frame.payload)) as { kind: string; update?: { type: string; tile?: { port: string } } };
      if (message.update?.type === 'tile') tileUpdates.push({ port: message.update.tile!.port, at: Date.now() });
    }),
  );
  // The highest progress each bar showed, seen from the page itself.
  await page.addInitScript(() => {
    const seen: number[] = [];
    (window as unknown as { progressSeen: number[] }).progressSeen = seen;
    new MutationObserver(() => {
      for (const bar of document.querySelectorAll('[role="progressbar"]')) seen.push(Number(bar.getAttribute('aria-valuenow')));
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
  });
  await page.goto(url);
  return { page, tileUpdates };
}

const tile = (page: Page, serialEnd: string) => page.locator('article.tile', { hasText: `THERM000000000000${serialEnd}` });
const badge = (page: Page, serialEnd: string, words: string) => tile(page, serialEnd).locator('.badge', { hasText: words });

/**
 * The demo line's units must be on ptys, through the real serial code: the
 * demo falls back to memory when socat fails, and says so on screen and in
 * station serve's output (the fallback itself is checked below, without socat).
 */
async function expectUnitsOnPtys(page: Page, station: ServedStation): Promise<void> {
  await page.getByText('Demo line', { exact: true }).waitFor();
  expect(await page.getByTestId('demo-in-memory').count(), 'the demo units fell back to memory').toBe(0);
  expect(station.output()).not.toMatch(/in memory/);
}

/** What a probe of another origin found: each attempt, and the CSP directives the page reported as violated. */
interface OriginProbe {
  inline: 'ran' | 'blocked';
  script: 'loaded' | 'blocked';
  img: 'loaded' | 'blocked';
  fetch: 'reached' | 'refused';
  webSocket: 'open' | 'refused';
  violations: string[];
}

const BLOCKED: OriginProbe = { inline: 'blocked', script: 'blocked', img: 'blocked', fetch: 'refused', webSocket: 'refused', violations: ['connect-src', 'img-src', 'script-src-elem'] };

/**
 * From inside `page`, tries what injected markup or script would: run an
 * inline script, load a script and an image from `target`, fetch from it
 * and open a WebSocket to it. `from` tags the requests, so the bait server
 * can tell which page reached it.
 */
function probeOrigin(page: Page, target: string, from: string): Promise<OriginProbe> {
  return page.evaluate(
    async ({ target, from }) => {
      const violations = new Set<string>();
      document.addEventListener('securitypolicyviolation', (event) => violations.add(event.effectiveDirective));
      const loaded = (element: HTMLScriptElement | HTMLImageElement) =>
        new Promise<'loaded' | 'blocked'>((resolve) => {
          element.onload = () => resolve('loaded');
          element.onerror = () => resolve('blocked');
        });
      const marker = window as unknown as { inlineRan?: boolean };
      const inline = document.createElement('script');
      inline.textContent = 'window.inlineRan = true';
      document.head.append(inline);
      const script = document.createElement('script');
      const scriptLoaded = loaded(script);
      script.src = `${target}/bait.js?from=${from}`;
      document.head.append(script);
      const img = new Image();
      const imgLoaded = loaded(img);
      img.src = `${target}/bait.png?from=${from}`;
      const fetched = await fetch(`${target}/bait.json?from=${from}`).then(
        () => 'reached' as const,
        () => 'refused' as const,
      );
      const webSocket = await new Promise<'open' | 'refused'>((resolve) => {
        try {
          const ws = new WebSocket(`${target.replace('http', 'ws')}/bait-ws?from=${from}`);
          ws.onopen = () => {
            ws.close();
            resolve('open');
          };
          ws.onerror = () => resolve('refused');
        } catch {
          resolve('refused');
        }
      });
      const result = { inline: marker.inlineRan ? ('ran' as const) : ('blocked' as const), script: await scriptLoaded, img: await imgLoaded, fetch: fetched, webSocket };
      // Violation reports are queued as tasks: let them arrive.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { ...result, violations: [...violations].sort() };
    },
    { target, from },
  );
}

interface Bait {
  url(host: 'localhost' | '127.0.0.1'): string;
  /** The paths requested by pages tagged `from`, sorted. */
  hitsFrom(from: string): string[];
  close(): Promise<void>;
}

/** A second server on loopback that answers every probe (and allows any origin), recording who reached it. */
async function startBait(): Promise<Bait> {
  const hits: Array<{ path: string; from: string | null }> = [];
  const record = (url: string | undefined) => {
    const parsed = new URL(url ?? '/', 'http://bait');
    hits.push({ path: parsed.pathname, from: parsed.searchParams.get('from') });
  };
  const bodies: Record<string, [string, string | Buffer]> = {
    '/control.html': ['text/html', '<!doctype html><title>control</title>'],
    '/bait.js': ['text/javascript', 'window.baitRan = true;'],
    '/bait.json': ['application/json', '{}'],
    '/bait.png': ['image/png', Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')],
  };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://bait').pathname;
    if (path !== '/control.html') record(request.url);
    const body = bodies[path];
    response.writeHead(body ? 200 : 404, { 'Content-Type': body?.[0] ?? 'text/plain', 'Access-Control-Allow-Origin': '*' }).end(body?.[1]);
  });
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (ws, request) => {
    record(request.url);
    ws.close();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (host) => `http://${host}:${port}`,
    hitsFrom: (from) => hits.filter((hit) => hit.from === from).map((hit) => hit.path).sort(),
    close: async () => {
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The station's web server with a renderer folder holding one page without a meta policy: only the header protects it. */
async function serveBarePage(): Promise<{ url: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'bare-page-'));
  mkdirSync(join(dir, 'static'));
  writeFileSync(join(dir, 'static', 'bare.html'), '<!doctype html><title>bare</title><p>no meta policy</p>');
  const desk = new StationDesk({ dataDir: dir, settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32) });
  const server = await startWebServer({ desk, staticDir: join(dir, 'static') });
  return {
    url: server.url,
    close: async () => {
      await server.close();
      await desk.close(0);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('the station screen in Chromium, against station serve --demo', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('four simulated units', () => {
    let station: ServedStation;
    beforeAll(async () => {
      // A first run: nothing configured, so the screen offers the demo line.
      station = await startStationServe(['--ports', '4']);
    });
    afterAll(async () => {
      expect(await station.stop()).toBe(0);
    });

    it('takes units from plugged in to passed, shows a failure with its step, and retry makes it pass', { timeout: 90_000 }, async () => {
      const { page, tileUpdates } = await openScreen(browser, station.url);
      await page.getByRole('heading', { name: 'No line is configured yet' }).waitFor();
      await page.getByRole('button', { name: 'Start the demo line' }).click();
      await expect.poll(() => page.locator('article.tile').count(), { timeout: 20_000 }).toBe(4);
      await expectUnitsOnPtys(page, station);
      for (const end of ['01', '02', '04']) await badge(page, end, 'Passed').waitFor({ timeout: 40_000 });

      // The demo's third unit refuses its credentials once: failed, at the credentials step, in plain words.
      const failed = tile(page, '03');
      await badge(page, '03', 'Failed').waitFor({ timeout: 40_000 });
      await expect.poll(() => failed.locator('.failure').innerText()).toMatch(/Failed at Credentials:.*non-volatile memory write failed/s);
      expect(await failed.locator('.failure').getAttribute('title')).toMatch(/unit THERM00000000000003, step write-credentials/);
      expect(await failed.locator('.step-failed').innerText()).toBe('Credentials');
      expect(await page.getByTestId('failed').innerText()).toBe('1');
      await page.screenshot({ path: join(SCREENS, 'line-4-one-failed-1280x800.png') });

      // Live flashing progress reached the page as a progress bar going up.
      const progress = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
      expect(progress.some((value) => value > 0 && value < 100)).toBe(true);

      await failed.getByRole('button', { name: 'Retry' }).click();
      await badge(page, '03', 'Passed').waitFor({ timeout: 40_000 });
      expect(await page.getByTestId('passed').innerText()).toBe('4');
      expect(await page.getByTestId('failed').innerText()).toBe('0');
      await page.screenshot({ path: join(SCREENS, 'line-4-all-passed-1280x800.png') });

      // Coalesced: no port got more than about ten updates in any second.
      for (const port of new Set(tileUpdates.map((update) => update.port))) {
        const times = tileUpdates.filter((update) => update.port === port).map((update) => update.at);
        const busiest = Math.max(...times.map((start) => times.filter((t) => t >= start && t < start + 1000).length));
        expect(busiest, `updates per second on ${port}`).toBeLessThanOrEqual(12);
      }
      await page.close();
    });

    it('its Content-Security-Policy keeps injected script and other origins out (a page without it reaches them)', { timeout: 30_000 }, async () => {
      const bait = await startBait();
      try {
        // The control: a page without the policy, on another origin, reaches the bait with every probe.
        const control = await browser.newPage();
        await control.goto(`${bait.url('localhost')}/control.html`);
        expect(await probeOrigin(control, bait.url('127.0.0.1'), 'control')).toEqual({ inline: 'ran', script: 'loaded', img: 'loaded', fetch: 'reached', webSocket: 'open', violations: [] });
        expect(bait.hitsFrom('control')).toEqual(['/bait-ws', '/bait.js', '/bait.json', '/bait.png']);
        await control.close();

        // The station's page (its header policy and its meta tag) blocks the same probes, and the bait hears nothing.
        const { page } = await openScreen(browser, station.url);
        expect(await probeOrigin(page, bait.url('127.0.0.1'), 'station')).toEqual(BLOCKED);
        expect(bait.hitsFrom('station')).toEqual([]);
        await page.close();

        // The header policy on its own, on a page without the meta tag, served by the station's web server.
        const bare = await serveBarePage();
        try {
          const page = await browser.newPage();
          await page.goto(`${bare.url}bare.html`);
          expect(await probeOrigin(page, bait.url('127.0.0.1'), 'header')).toEqual(BLOCKED);
          expect(bait.hitsFrom('header')).toEqual([]);
          await page.close();
        } finally {
          await bare.close();
        }
      } finally {
        await bait.close();
      }
    });

    it('searches the history by serial number and exports CSV without secrets; the tabs work from the keyboard', { timeout: 30_000 }, async () => {
      const { page } = await openScreen(browser, station.url);
      await page.getByRole('tab', { name: 'Line' }).focus();
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => page.getByRole('tab', { name: 'History' }).getAttribute('aria-selected')).toBe('true');
      await page.getByLabel('Serial number').fill('0003');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
      expect(await page.locator('tbody tr').innerText()).toMatch(/THERM00000000000003.*passed/s);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
      const csv = readFileSync((await download.path())!, 'utf8');
      expect(csv.split('\r\n')[0]).toBe('id,serial,port,result,failedStep,error,thingId,versionId,credentialsState,startedAt,finishedAt');
      expect(csv).toContain('THERM00000000000003');
      expect(csv).not.toMatch(/apiKey|credentials":/i);
      await page.close();
    });
  });

  it('settings: a bad profile file is refused with the field named; a built-in profile can be chosen', { timeout: 30_000 }, async () => {
    // Profiles and settings from a browser need station serve to allow them.
    const station = await startStationServe(['--allow-settings']);
    try {
      const { page } = await openScreen(browser, station.url);
      await page.getByRole('tab', { name: 'Settings' }).click();
      await expect.poll(() => page.getByText('In use:').innerText()).toBe('In use: reference');
      await page.getByLabel('Import a profile (JSON)').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ name: 'bad', serial: { baudRate: -1 } })) });
      await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/imported device profile is invalid: .*baudRate/);
      await page.getByRole('button', { name: 'reference-window' }).click();
      await expect.poll(() => page.getByText('In use:').innerText()).toBe('In use: reference-window');
      // Saving a cloud without its required fields is refused on screen, with the field named.
      await page.getByLabel('Backend').selectOption('exosite');
      await page.getByLabel('Address').fill('https://m2.exosite.com');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/vendor/);
      await page.screenshot({ path: join(SCREENS, 'settings-1280x800.png') });
      await page.close();
    } finally {
      await station.stop();
    }
  });

  it('says on screen and in its output when the demo units fell back to memory (no socat on PATH)', { timeout: 60_000 }, async () => {
    const station = await startStationServe(['--demo', '--ports', '2'], { env: { PATH: mkdtempSync(join(tmpdir(), 'no-socat-')) } });
    try {
      expect(station.output()).toMatch(/Demo line: the simulated units run in memory, not on ptys .*socat/);
      const { page } = await openScreen(browser, station.url);
      await expect.poll(() => page.locator('article.tile').count(), { timeout: 20_000 }).toBe(2);
      await expect.poll(() => page.getByTestId('demo-in-memory').innerText()).toMatch(/Units in memory, not on ptys: .*socat/);
      await page.close();
    } finally {
      await station.stop();
    }
  });

  it('shows a 32-port line', { timeout: 180_000 }, async () => {
    const station = await startStationServe(['--ports', '32']);
    try {
      const { page } = await openScreen(browser, station.url);
      await page.getByRole('button', { name: 'Start the demo line' }).click();
      await expect.poll(() => page.locator('article.tile').count(), { timeout: 60_000 }).toBe(32);
      await expectUnitsOnPtys(page, station);
      await expect.poll(() => page.locator('[role="progressbar"]').count(), { timeout: 60_000, interval: 50 }).toBeGreaterThan(3);
      await page.screenshot({ path: join(SCREENS, 'line-32-flashing-1280x800.png') });
      await expect.poll(() => page.locator('article.tile-passed, article.tile-failed').count(), { timeout: 120_000 }).toBe(32);
      expect(await page.locator('article.tile-failed').count()).toBe(1);
      await page.screenshot({ path: join(SCREENS, 'line-32-done-full.png'), fullPage: true });
      await page.close();
    } finally {
      await station.stop();
    }
  });
});
