import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { StationDesk } from '../../main/core/desk/station-desk.ts';
import { dataFolder } from '../../main/core/storage/data-folder.ts';
import { Journal } from '../../main/core/storage/journal.ts';
import { SecretBox } from '../../main/core/storage/secret-box.ts';
import { startWebServer } from '../../main/core/serve/web-server.ts';
import { startStationServe, type ServedStation } from '../helpers/station-serve.ts';
import { launchChromium } from '../helpers/chromium.ts';

/** Debian's Chromium, never a downloaded browser. */
const SCREENS = resolve('test-results/screens');

async function openScreen(browser: Browser, url: string, viewport = { width: 1280, height: 800 }): Promise<{ page: Page; tileUpdates: Array<{ port: string; at: number }> }> {
  const page = await browser.newPage({ viewport });
  const tileUpdates: Array<{ port: string; at: number }> = [];
  // Every update the station pushes, as the browser received it: to check the coalescing.
  page.on('websocket', (ws) =>
    ws.on('framereceived', (frame) => {
      const message = JSON.parse(String(frame.payload)) as { kind: string; update?: { type: string; tile?: { port: string } } };
      if (message.update?.type === 'tile') tileUpdates.push({ port: message.update.tile!.port, at: Date.now() });
    }),
  );
  // Every tone the page plays (Web Audio), by frequency.
  await page.addInitScript(() => {
    const tones: number[] = [];
    (window as unknown as { tones: number[] }).tones = tones;
    const create = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function (this: AudioContext) {
      const oscillator = create.call(this);
      const start = oscillator.start.bind(oscillator);
      oscillator.start = (when?: number) => {
        tones.push(oscillator.frequency.value);
        start(when);
      };
      return oscillator;
    };
  });
  // The highest progress each bar showed, seen from the page itself.
  await page.addInitScript(() => {
    const seen: number[] = [];
    (window as unknown as { progressSeen: number[] }).progressSeen = seen;
    new MutationObserver(() => {
      for (const bar of document.querySelectorAll('[role="progressbar"]')) seen.push(Number(bar.getAttribute('aria-valuenow')));
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
  });
  // Each working tile's bar beside its percentage and step, as each changed, unit by unit.
  await page.addInitScript(() => {
    const runs: Record<string, Array<Array<{ bar: number; percent: number; doing: string }>>> = {};
    (window as unknown as { barRuns: typeof runs }).barRuns = runs;
    const inRun = new Set<string>();
    new MutationObserver(() => {
      for (const tile of document.querySelectorAll('article.tile')) {
        const port = tile.getAttribute('data-port')!;
        const bar = tile.querySelector('[role="progressbar"]');
        if (!bar) {
          inRun.delete(port);
          continue;
        }
        const tileRuns = (runs[port] ??= []);
        if (!inRun.has(port)) tileRuns.push([]);
        inRun.add(port);
        const run = tileRuns[tileRuns.length - 1]!;
        const seen = { bar: Number(bar.getAttribute('aria-valuenow')), percent: parseInt(tile.querySelector('.percent')?.textContent ?? '', 10), doing: tile.querySelector('.state .word')?.textContent ?? '' };
        const last = run[run.length - 1];
        if (!last || last.bar !== seen.bar || last.percent !== seen.percent || last.doing !== seen.doing) run.push(seen);
      }
    }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-valuenow'] });
  });
  await page.goto(url);
  return { page, tileUpdates };
}

const tile = (page: Page, serialEnd: string) => page.locator('article.tile', { hasText: `THERM000000000000${serialEnd}` });
const badge = (page: Page, serialEnd: string, words: string) => tile(page, serialEnd).locator('.state', { hasText: new RegExp(words, 'i') });
const figure = (page: Page, testId: string) => page.getByTestId(testId).innerText();
const tones = (page: Page) => page.evaluate(() => (window as unknown as { tones: number[] }).tones);

/** The header's counts and yields as the technician reads them. */
async function counts(page: Page): Promise<Record<string, string>> {
  const entries = await Promise.all(['passed', 'failed', 'first-pass-yield', 'final-yield'].map(async (id) => [id, await figure(page, id)] as const));
  return Object.fromEntries(entries);
}

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
    browser = await launchChromium();
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
      // Nothing has reached a cloud yet: the screen says so, not "online".
      expect(await figure(page, 'cloud')).toMatch(/Cloud not checked yet/);
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

      // Each unit's bar is its progress, as its percentage says, through download and flash alike: it never jumps back.
      const barRuns = await page.evaluate(() => (window as unknown as { barRuns: Record<string, Array<Array<{ bar: number; percent: number; doing: string }>>> }).barRuns);
      const seen = Object.values(barRuns).flat(2);
      expect(seen.some((one) => one.doing === 'Flashing')).toBe(true);
      for (const one of seen) expect(one.bar, `the bar while ${one.doing}`).toBe(one.percent);
      for (const run of Object.values(barRuns).flat()) expect(run.map((one) => one.bar)).toEqual(run.map((one) => one.bar).sort((a, b) => a - b));

      // One action fits a failure a retry can fix: Retry, and nothing that contradicts it.
      expect(await failed.getByRole('button').allInnerTexts()).toEqual(['Retry']);
      // Double-clicked, as a hurried technician does: one retry, and no "port busy" error from a second.
      await failed.getByRole('button', { name: 'Retry' }).dblclick();
      await badge(page, '03', 'Passed').waitFor({ timeout: 40_000 });
      expect(await page.getByRole('alert').allInnerTexts()).toEqual([]);
      // The retry passed: every unit passed in the end, but one of four needed a second try.
      await expect.poll(() => counts(page)).toEqual({ passed: '4', failed: '0', 'first-pass-yield': '75 %', 'final-yield': '100 %' });
      expect(await figure(page, 'cloud')).toMatch(/Cloud online/);
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

    it('History shows both attempts of the retried unit, filters by serial, result and slot, and exports CSV without secrets; the tabs work from the keyboard', { timeout: 30_000 }, async () => {
      const { page } = await openScreen(browser, station.url);
      await page.getByRole('tab', { name: 'Line' }).focus();
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => page.getByRole('tab', { name: 'History' }).getAttribute('aria-selected')).toBe('true');
      await page.getByLabel('Serial number').fill('0003');
      await page.keyboard.press('Enter');
      // Every try is kept: the failure and the retry that passed, newest first, each with its result icon and duration.
      await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
      const [retried, first] = await page.locator('tbody tr').allInnerTexts();
      expect(retried).toMatch(/✓ passed\s+THERM00000000000003\s+2\s+3\s+\S+\s+\s*\d+ s/);
      expect(first).toMatch(/✗ failed\s+THERM00000000000003\s+1\s+3\s+\S+\s+Credentials\s+\d+ s/);
      await page.getByLabel('Serial number').fill('');
      await page.getByLabel('Result').selectOption('failed');
      await page.getByRole('button', { name: 'Search' }).click();
      await expect.poll(() => page.locator('tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/✗ failed\s+THERM00000000000003\s+1/)]);
      // Why it failed and what to do, opened from the keyboard: not only in a tooltip a mouse must find.
      await page.getByText('Credentials', { exact: true }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('tbody tr').innerText()).toMatch(/non-volatile memory write failed\. The unit's memory failed: retry it once; if it fails again, set it aside for repair/);
      await page.getByLabel('Result').selectOption('');
      await page.getByLabel('Port or slot').fill('4');
      await page.getByRole('button', { name: 'Search' }).click();
      await expect.poll(() => page.locator('tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/THERM00000000000004\s+1\s+4/)]);
      await page.screenshot({ path: join(SCREENS, 'history-1280x800.png') });
      await page.getByLabel('Port or slot').fill('');
      await page.getByLabel('Serial number').fill('0003');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
      const csv = readFileSync((await download.path())!, 'utf8');
      expect(csv.split('\r\n')[0]).toBe(
        'id,unitId,attempt,serial,port,slot,result,failedStep,error,thingId,versionId,credentialsState,startedAt,finishedAt,seconds,operator,stationId,configHash,firmwareSha256,label,labelProblem',
      );
      expect(csv.trim().split('\r\n')).toHaveLength(3);
      expect(csv).toContain('THERM00000000000003');
      expect(csv).not.toMatch(/apiKey|credentials":/i);
      await page.close();
    });
  });

  it('History says when a search found more attempts than it lists, and not when it found exactly as many', { timeout: 60_000 }, async () => {
    // 500 earlier attempts in the demo line's journal; the demo's one unit makes 501.
    const dataDir = mkdtempSync(join(tmpdir(), 'station-serve-'));
    const journal = Journal.open(dataFolder(dataFolder(dataDir).demo).journal, new SecretBox(randomBytes(32)));
    for (let n = 1; n <= 500; n++) journal.finishUnit(journal.startUnit(`SEED${String(n).padStart(6, '0')}`, '/dev/ttyACM0').id, 'passed');
    journal.close();
    const station = await startStationServe(['--demo', '--ports', '1'], { dataDir });
    try {
      const { page } = await openScreen(browser, station.url);
      await page.locator('article.tile-passed, article.tile-failed').waitFor({ timeout: 40_000 });
      await page.getByRole('tab', { name: 'History' }).click();
      await expect.poll(() => page.locator('caption').innerText()).toMatch(/^The newest 500 attempts; there are more: narrow the search, or export them all/);
      expect(await page.locator('tbody tr').count()).toBe(500);
      expect(await page.locator('tbody tr').first().innerText()).toMatch(/THERM00000000000001/);
      // Exactly as many as are listed: all of them, nothing more to say.
      await page.getByLabel('Serial number').fill('SEED');
      await page.getByRole('button', { name: 'Search' }).click();
      await expect.poll(() => page.locator('caption').innerText()).toMatch(/^500 attempt\(s\), newest first/);
      await page.close();
    } finally {
      await station.stop();
    }
  });

  it('settings: a bad profile file is refused with the field named; a built-in profile can be chosen', { timeout: 30_000 }, async () => {
    // Profiles and settings from a browser need station serve to allow them.
    const station = await startStationServe(['--allow-settings']);
    try {
      const { page } = await openScreen(browser, station.url);
      await page.getByRole('tab', { name: 'Settings' }).click();
      await expect.poll(() => page.getByText('In use:').innerText()).toBe('In use: reference');
      // A cloud half typed in, not saved yet: choosing the device profile meanwhile keeps it.
      await page.getByLabel('Backend').selectOption('exosite');
      await page.getByLabel('Address').fill('https://m2.exosite.com');
      await page.getByLabel('Vendor').fill('acme');
      await page.getByLabel('Import a profile (JSON)').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ name: 'bad', serial: { baudRate: -1 } })) });
      await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/imported device profile is invalid: .*baudRate/);
      await page.getByRole('button', { name: 'reference-window' }).click();
      await expect.poll(() => page.getByText('In use:').innerText()).toBe('In use: reference-window');
      expect([await page.getByLabel('Backend').inputValue(), await page.getByLabel('Address').inputValue()]).toEqual(['exosite', 'https://m2.exosite.com']);
      expect(await page.getByLabel('Vendor').inputValue()).toBe('acme');
      // Saving a cloud without its required fields is refused on screen, with the field named.
      await page.getByLabel('Vendor').fill('');
      await page.getByRole('button', { name: 'Save settings' }).click();
      // Each problem next to its field, in the field's own words; no configuration paths.
      await expect.poll(() => page.locator('#problem-vendor').innerText()).toBe('Vendor is required');
      expect(await page.locator('#problem-model').innerText()).toBe('Model is required');
      expect(await page.getByLabel('Vendor').getAttribute('aria-invalid')).toBe('true');
      // The refused save kept what was typed.
      expect(await page.getByLabel('Address').inputValue()).toBe('https://m2.exosite.com');
      expect(await page.locator('.settings').innerText()).not.toMatch(/cloud\.|Invalid input/);
      // Choices are lists and numbers are numbers.
      await page.getByLabel('Backend').selectOption('fleetfreedom');
      expect(await page.getByLabel('Provider kind').evaluate((element) => element.tagName)).toBe('SELECT');
      expect(await page.getByLabel('Company id').getAttribute('type')).toBe('number');
      await page.getByLabel('Backend').selectOption('exosite');
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

  it('an 8-port line, as it first comes up and when done', { timeout: 120_000 }, async () => {
    const station = await startStationServe(['--demo', '--ports', '8']);
    try {
      const { page } = await openScreen(browser, station.url, { width: 1920, height: 1080 });
      await expect.poll(() => page.locator('article.tile').count(), { timeout: 60_000 }).toBe(8);
      await expectUnitsOnPtys(page, station);
      await expect.poll(() => page.locator('article.tile-passed, article.tile-failed').count(), { timeout: 90_000 }).toBe(8);
      // Slots are the titles, in order.
      expect(await page.locator('article.tile .slot').allTextContents()).toEqual(['Slot 1', 'Slot 2', 'Slot 3', 'Slot 4', 'Slot 5', 'Slot 6', 'Slot 7', 'Slot 8']);
      await page.screenshot({ path: join(SCREENS, 'line-8-done-1920x1080.png') });
      // A 4K screen at 100 % scaling shows the same layout twice as large, not 1080p-sized words lost on it; still one screen.
      const wordHeight = () => page.locator('article.tile .state .word').first().evaluate((word) => word.getBoundingClientRect().height);
      const at1080 = await wordHeight();
      await page.setViewportSize({ width: 3840, height: 2160 });
      await expect.poll(async () => (await wordHeight()) / at1080).toBeCloseTo(2, 1);
      expect(await page.evaluate(() => document.scrollingElement!.scrollHeight <= window.innerHeight)).toBe(true);
      const lastTile = await page.locator('article.tile').last().boundingBox();
      expect(lastTile!.y + lastTile!.height).toBeLessThanOrEqual(2160);
      await page.screenshot({ path: join(SCREENS, 'line-8-done-3840x2160.png') });
      await page.close();
    } finally {
      await station.stop();
    }
  });

  it('32 ports on 1920×1080: every tile on screen with a 24 px state word, states apart in greyscale, sounds, reduced motion, and a restart that counts nothing twice', { timeout: 240_000 }, async () => {
    const station = await startStationServe(['--ports', '32']);
    try {
      const { page } = await openScreen(browser, station.url, { width: 1920, height: 1080 });
      await page.getByRole('button', { name: 'Sound off' }).click();
      await page.getByRole('button', { name: 'Start the demo line' }).click();
      await expect.poll(() => page.locator('article.tile').count(), { timeout: 60_000 }).toBe(32);
      await expectUnitsOnPtys(page, station);
      await expect.poll(() => page.locator('article.tile-working [role="progressbar"]').count(), { timeout: 60_000, interval: 20 }).toBeGreaterThan(3);
      // Working tiles move, unless the technician asked for less motion.
      const working = page.locator('article.tile-working').first();
      const animation = () => working.evaluate((element) => getComputedStyle(element).animationName).catch(() => 'gone');
      expect(await animation()).toBe('working-stripes');
      await page.emulateMedia({ reducedMotion: 'reduce' });
      expect(['none', 'gone']).toContain(await animation());
      await page.emulateMedia({ reducedMotion: 'no-preference' });
      await page.screenshot({ path: join(SCREENS, 'line-32-working-1920x1080.png') });

      await expect.poll(() => page.locator('article.tile-passed, article.tile-failed').count(), { timeout: 150_000 }).toBe(32);
      expect(await page.locator('article.tile-failed').count()).toBe(1);

      // Every tile fits the screen, no scrolling, and every state word is at least 24 CSS px.
      const boxes = await page.locator('article.tile').evaluateAll((tiles) =>
        tiles.map((tile) => {
          const box = tile.getBoundingClientRect();
          const word = tile.querySelector('.state .word')!;
          return { bottom: box.bottom, right: box.right, top: box.top, left: box.left, fontPx: parseFloat(getComputedStyle(word).fontSize), clipped: word.scrollWidth > word.clientWidth + 1 };
        }),
      );
      for (const box of boxes) {
        expect(box.top).toBeGreaterThanOrEqual(0);
        expect(box.left).toBeGreaterThanOrEqual(0);
        expect(box.bottom).toBeLessThanOrEqual(1080);
        expect(box.right).toBeLessThanOrEqual(1920);
        expect(box.fontPx).toBeGreaterThanOrEqual(24);
        expect(box.clipped).toBe(false);
      }
      expect(await page.evaluate(() => document.scrollingElement!.scrollHeight <= window.innerHeight)).toBe(true);
      // The failed tile's action is on screen, not cut off by its reason.
      const failed = page.locator('article.tile-failed');
      const [tileBox, retryBox] = [await failed.boundingBox(), await failed.getByRole('button', { name: 'Retry' }).boundingBox()];
      expect(retryBox!.y + retryBox!.height).toBeLessThanOrEqual(tileBox!.y + tileBox!.height);

      // On a 1280×720 window too: every state word whole, and the failed tile's Retry on the tile, not cut off by its reason.
      await page.setViewportSize({ width: 1280, height: 720 });
      await expect
        .poll(() => page.locator('article.tile .state .word').evaluateAll((words) => words.filter((word) => word.scrollWidth > word.clientWidth + 1 || word.getBoundingClientRect().right > word.closest('article')!.getBoundingClientRect().right).length))
        .toBe(0);
      const [smallTile, smallRetry] = [await failed.boundingBox(), await failed.getByRole('button', { name: 'Retry' }).boundingBox()];
      expect(smallRetry!.y + smallRetry!.height).toBeLessThanOrEqual(smallTile!.y + smallTile!.height);
      await page.screenshot({ path: join(SCREENS, 'line-32-done-1280x720.png') });
      await page.setViewportSize({ width: 1920, height: 1080 });

      // Passed and failed differ in more than colour: icon and pattern, seen in greyscale too.
      const look = (selector: string) =>
        page.locator(selector).first().evaluate((element) => ({ icon: element.querySelector('.state .icon')!.textContent, pattern: getComputedStyle(element).backgroundImage }));
      const [passedLook, failedLook] = [await look('article.tile-passed'), await look('article.tile-failed')];
      expect(passedLook).toEqual({ icon: '✓', pattern: 'none' });
      expect(failedLook.icon).toBe('✗');
      expect(failedLook.pattern).toMatch(/repeating-linear-gradient/);
      await page.screenshot({ path: join(SCREENS, 'line-32-done-1920x1080.png') });
      await page.evaluate(() => (document.documentElement.style.filter = 'grayscale(1)'));
      await page.screenshot({ path: join(SCREENS, 'line-32-done-greyscale-1920x1080.png') });
      await page.evaluate(() => (document.documentElement.style.filter = ''));

      // Sound was on: a high tone for passes, low ones for the failure.
      await expect.poll(() => tones(page)).toEqual(expect.arrayContaining([880, 220]));

      // Stopping and starting the line counts no unit again.
      const before = await counts(page);
      expect(before).toEqual({ passed: '31', failed: '1', 'first-pass-yield': '96.8 %', 'final-yield': '96.8 %' });
      await page.getByRole('button', { name: 'Stop line' }).click();
      await page.getByRole('button', { name: 'Start line' }).click();
      await page.getByRole('button', { name: 'Stop line' }).waitFor();
      // The ports look at their units again and find them done: nothing starts (given time to, had it been going to).
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      expect(await page.locator('article.tile-working').count()).toBe(0);
      expect(await counts(page)).toEqual(before);

      // Muted, a retry that passes makes no sound, and the retried unit stays a first-pass failure.
      await page.getByRole('button', { name: 'Sound on' }).click();
      const heard = (await tones(page)).length;
      await failed.getByRole('button', { name: 'Retry' }).click();
      await expect.poll(() => page.locator('article.tile-failed').count(), { timeout: 60_000 }).toBe(0);
      await expect.poll(() => counts(page)).toEqual({ passed: '32', failed: '0', 'first-pass-yield': '96.8 %', 'final-yield': '100 %' });
      expect((await tones(page)).length).toBe(heard);
      await page.close();
    } finally {
      await station.stop();
    }
  });

  it('64 ports switch to a denser layout; the header stays on screen while the tiles scroll', { timeout: 240_000 }, async () => {
    const station = await startStationServe(['--demo', '--ports', '64']);
    try {
      const { page } = await openScreen(browser, station.url, { width: 1920, height: 1080 });
      await expect.poll(() => page.locator('article.tile').count(), { timeout: 90_000 }).toBe(64);
      expect(await page.locator('section.tiles.dense').count()).toBe(1);
      await expect.poll(() => page.locator('article.tile-passed, article.tile-failed').count(), { timeout: 200_000 }).toBe(64);
      const last = await page.locator('article.tile').last().boundingBox();
      expect(last!.y + last!.height).toBeLessThanOrEqual(1080);
      await page.screenshot({ path: join(SCREENS, 'line-64-done-1920x1080.png') });
      // On a smaller screen the tiles scroll under a header that stays.
      await page.setViewportSize({ width: 1280, height: 720 });
      await page.locator('article.tile').last().scrollIntoViewIfNeeded();
      const header = await page.getByRole('region', { name: 'Line status' }).boundingBox();
      expect(header!.y).toBeGreaterThanOrEqual(0);
      expect(header!.y + header!.height).toBeLessThanOrEqual(720);
      expect(await page.locator('article.tile').first().evaluate((element) => element.getBoundingClientRect().bottom)).toBeLessThan(header!.y + header!.height + 1);
      await page.screenshot({ path: join(SCREENS, 'line-64-scrolled-1280x720.png') });
      await page.close();
    } finally {
      await station.stop();
    }
  });

  it('refuses to save a line with no ports over the running one, saying why next to the ports', { timeout: 120_000 }, async () => {
    const station = await startStationServe(['--demo', '--ports', '2', '--allow-settings']);
    try {
      const { page } = await openScreen(browser, station.url);
      await expect.poll(() => page.locator('article.tile').count(), { timeout: 60_000 }).toBe(2);
      await page.getByRole('tab', { name: 'Settings' }).click();
      await expect.poll(() => page.getByTestId('running-line').innerText()).toMatch(/Running now: GadgetKeeper at http:\/\/127\.0\.0\.1:\d+, 2 ports \(slots 1, 2\), from the demo line/);
      await page.getByLabel('Address').fill('http://127.0.0.1:9');
      await page.getByLabel('Product key').fill('pk-test');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => page.locator('#problem-ports').innerText()).toMatch(/The line is running on 2 ports; settings with no ports would leave it nothing to run/);
      await page.getByRole('tab', { name: 'Line' }).click();
      expect(await page.locator('article.tile').count()).toBe(2);
      expect(await page.getByRole('button', { name: 'Stop line' }).count()).toBe(1);
      await page.close();
    } finally {
      await station.stop();
    }
  });
});
