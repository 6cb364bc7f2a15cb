import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrinterEmulator, type PrinterEmulator } from '../../main/core/simulator/printer-emulator.ts';
import { startStationServe, type ServedStation } from '../helpers/station-serve.ts';
import { launchChromium } from '../helpers/chromium.ts';

const SCREENS = resolve('test-results/screens');
const PIN = '735911';
const serial = (n: number) => `THERM0000000000000${n}`;

/** `station engineer-pin set`, the PIN on standard input, as an engineer sets up a station. */
async function setEngineerPin(dataDir: string, pin: string): Promise<void> {
  const child = spawn(process.execPath, [resolve('bin/station.js'), 'engineer-pin', 'set', '--data-dir', dataDir], { stdio: ['pipe', 'ignore', 'inherit'] });
  child.stdin.end(`${pin}\n`);
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`station engineer-pin set exited ${code}`);
}

let lastKeyStamp = 0;
/**
 * Keys with the times a device gives them: each event is stamped `gapMs` after
 * the one before, and the wedge detector reads those stamps (event.timeStamp),
 * so a busy test machine that delivers the keys late cannot turn a scan into
 * typing, nor slow typing into a scan.
 */
async function keysAt(page: Page, text: string, gapMs: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  // After the keys of any earlier call, and never before now.
  let timestamp = Math.max(Date.now() / 1000, lastKeyStamp + 0.5);
  try {
    for (const char of text) {
      timestamp += gapMs / 1000;
      lastKeyStamp = timestamp;
      const key = char === '\n' ? { key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: '\r' } : { key: char, text: char };
      await cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', ...key, timestamp });
      await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: key.key, timestamp });
    }
  } finally {
    await cdp.detach();
  }
  // Let the clock catch up with the stamps, so that they never run far ahead of it.
  const ahead = lastKeyStamp * 1000 - Date.now();
  if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
}
/** A keyboard-wedge scanner: the whole label a few milliseconds a key, then Enter. */
const scan = (page: Page, label: string) => keysAt(page, `${label}\n`, 5);
/** A person typing the same thing. */
const typeSlowly = (page: Page, label: string) => keysAt(page, `${label}\n`, 150);

const tile = (page: Page, n: number) => page.locator('article.tile', { hasText: serial(n) });
const promptInput = (page: Page, n: number) => tile(page, n).locator('[data-testid="prompt"] input');

describe('operator mode, label scan check and label printing, in Chromium against station serve', () => {
  let browser: Browser;
  let station: ServedStation;
  let printer: PrinterEmulator;
  let printerPort: number;
  let page: Page;
  /** Every frame this page sent the station, as sent. */
  const sent: string[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    printer = await startPrinterEmulator();
    printerPort = printer.port;
    const dataDir = mkdtempSync(join(tmpdir(), 'station-operator-'));
    await setEngineerPin(dataDir, PIN);
    station = await startStationServe(['--ports', '3', '--label-check', '--label-printer', `tcp://127.0.0.1:${printerPort}`, '--allow-settings'], { dataDir });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('websocket', (ws) => ws.on('framesent', (frame) => sent.push(String(frame.payload))));
    await page.goto(station.url);
  });
  afterAll(async () => {
    await browser?.close();
    expect(await station?.stop()).toBe(0);
    await printer?.stop();
  });

  it('an operator signs in with a badge; changing the line needs the engineer PIN, checked once and kept nowhere on the page', { timeout: 60_000 }, async () => {
    await page.getByRole('heading', { name: 'No line is configured yet' }).waitFor();
    // A badge scanned into the sign-in field.
    await page.getByRole('textbox', { name: 'Operator' }).click();
    await scan(page, 'OP-0042 Ada');
    await expect.poll(() => page.getByTestId('operator').innerText()).toMatch(/Operator: OP-0042 Ada \(badge\)/);
    // Operator mode: the demo line is the engineer's.
    expect(await page.getByRole('button', { name: 'Start the demo line' }).isDisabled()).toBe(true);
    expect(await page.getByTestId('engineer').innerText()).toMatch(/changing the line needs the engineer PIN/);

    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Engineer PIN').fill('000000');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.getByRole('alert').first().innerText()).toMatch(/that is not the engineer PIN/);
    await page.getByLabel('Engineer PIN').fill(PIN);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await expect.poll(() => page.getByTestId('engineer').innerText()).toMatch(/Engineer unlocked on this screen/);

    // The label preview: the default template with the sample values, drawn here, barcodes included.
    const preview = page.getByTestId('label-preview');
    await preview.waitFor({ timeout: 15_000 });
    expect(await preview.locator('text').allTextContents()).toEqual(expect.arrayContaining(['SN THERM00000000000042', 'FW fedcba9876543210fedcba9876543210']));
    expect(await preview.locator('[data-barcode="code128"]').getAttribute('data-text')).toBe('THERM00000000000042');
    expect(await preview.locator('[data-barcode="qr"]').getAttribute('data-text')).toBe('THERM00000000000042');
    const barcodesDrawn = await preview.locator('image').evaluateAll((images) => images.map((image) => (image as SVGImageElement).getBBox().width > 0 && (image.getAttribute('href') ?? '').startsWith('data:image/svg+xml')));
    expect(barcodesDrawn).toEqual([true, true]);
    await page.getByRole('group', { name: 'Labels' }).screenshot({ path: join(SCREENS, 'settings-labels-preview.png') });

    // The PIN went to the station once, in the unlock, and the page keeps it nowhere.
    expect(sent.filter((frame) => frame.includes(PIN))).toEqual([expect.stringContaining('"method":"unlockEngineer"')]);
    const stored = await page.evaluate(() => JSON.stringify([{ ...sessionStorage }, { ...localStorage }, document.cookie]));
    expect(stored).not.toContain(PIN);
    expect(await page.locator('input[type="password"]').evaluateAll((inputs) => inputs.map((input) => (input as HTMLInputElement).value))).not.toContain(PIN);
    // The journal holds its scrypt hash only.
    const hash = execFileSync('node', ['-e', `const {DatabaseSync}=require('node:sqlite');process.stdout.write(new DatabaseSync(process.argv[1],{readOnly:true}).prepare("SELECT value FROM settings WHERE key='engineer-pin'").get().value)`, join(station.dataDir, 'journal.sqlite')], { encoding: 'utf8' });
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(readFileSync(join(station.dataDir, 'journal.sqlite')).includes(PIN)).toBe(false);

    // Another screen (a new connection) is locked: the station, not the page, refuses it.
    const other = await browser.newPage();
    await other.goto(station.url);
    await other.getByRole('tab', { name: 'Settings' }).click();
    await other.getByRole('button', { name: 'Unlock' }).waitFor();
    const refused = await other.evaluate(async () => {
      const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(sessionStorage.getItem('station-access-token') ?? '')}`);
      await new Promise((done) => (ws.onopen = done));
      const answer = new Promise<string>((done) => (ws.onmessage = (event) => (String(event.data).includes('"kind":"answer"') ? done(String(event.data)) : undefined)));
      ws.send(JSON.stringify({ id: 1, method: 'startDemo', params: [] }));
      return answer;
    });
    expect(refused).toMatch(/startDemo: refused\. This station is in operator mode/);
    await other.close();
  });

  it('an unlocked screen asks the station again when its unlock would lock itself, so it shows the lock', { timeout: 60_000 }, async () => {
    const screen = await browser.newPage();
    try {
      // The page's own clock, run forward by the test: the station's stays real, so it still answers "unlocked".
      await screen.clock.install();
      const frames: string[] = [];
      screen.on('websocket', (ws) => ws.on('framesent', (frame) => frames.push(String(frame.payload))));
      await screen.goto(station.url);
      await screen.getByRole('tab', { name: 'Settings' }).click();
      await screen.getByLabel('Engineer PIN').fill(PIN);
      await screen.getByRole('button', { name: 'Unlock' }).click();
      await expect.poll(() => screen.getByTestId('engineer').innerText()).toMatch(/Engineer unlocked on this screen \(locks itself after 15 min without a change\)/);
      const asked = () => frames.filter((frame) => frame.includes('"method":"session"')).length;
      const before = asked();
      await screen.clock.runFor(14 * 60_000);
      expect(asked()).toBe(before);
      await screen.clock.runFor(60_000 + 1000);
      await expect.poll(asked).toBe(before + 1);
    } finally {
      await screen.close();
    }
  });

  it('wedge scans at scanner speed pass units, a mismatched label fails naming both, slow typing is no scan, and each passed unit gets one label', { timeout: 180_000 }, async () => {
    await page.getByRole('tab', { name: 'Line' }).click();
    await page.getByRole('button', { name: 'Start the demo line' }).click();
    await expect.poll(() => page.locator('[data-testid="prompt"]').count(), { timeout: 60_000 }).toBe(3);
    for (const n of [1, 2, 3]) expect(await tile(page, n).locator('[data-testid="prompt"]').innerText()).toContain(`Scan the label of unit ${serial(n)}`);
    await page.screenshot({ path: join(SCREENS, 'line-3-scan-prompts-1280x900.png') });
    const answersSent = () => sent.filter((frame) => frame.includes('"answerOperator"')).length;

    // Three wait and none is focused: a person typing is no scan, and nothing is sent.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await typeSlowly(page, serial(1));
    expect(answersSent()).toBe(0);
    // A scan with no tile focused goes to the station, which will not guess which of three it is for.
    await scan(page, serial(1));
    await expect.poll(() => page.getByTestId('scan-notice').innerText()).toMatch(/not taken: .*3 units wait for a scan/);
    expect(await page.locator('[data-testid="prompt"]').count()).toBe(3);

    // Typed by hand into the tile's input: refused, saying to scan.
    await promptInput(page, 1).click();
    await typeSlowly(page, serial(1));
    await expect.poll(() => tile(page, 1).getByRole('alert').innerText()).toBe('Scan the label with the scanner: a label typed by hand is not taken.');
    expect(answersSent()).toBe(1);
    // Scanned into it: the unit goes on and passes.
    await scan(page, serial(1));
    await tile(page, 1).locator('.state', { hasText: /passed/i }).waitFor({ timeout: 60_000 });

    // A mismatched label fails the unit, naming both serial numbers.
    await promptInput(page, 2).click();
    await scan(page, 'THERM00000000000009');
    await tile(page, 2).locator('.state', { hasText: /failed/i }).waitFor({ timeout: 30_000 });
    await expect.poll(() => tile(page, 2).locator('.failure').innerText()).toMatch(/Failed at Label: the label says THERM00000000000009, but the unit reports THERM00000000000002/);
    await page.screenshot({ path: join(SCREENS, 'line-3-label-mismatch-1280x900.png') });

    // The one unit left waiting: a scan with no tile focused is routed to it.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await scan(page, serial(3));
    await expect.poll(() => page.getByTestId('scan-notice').innerText()).toBe(`Label ${serial(3)} scanned for slot 3`);
    // The demo's third unit refuses its credentials once; retried, it asks for its label again.
    await tile(page, 3).getByRole('button', { name: 'Retry' }).click({ timeout: 60_000 });
    await tile(page, 3).locator('[data-testid="prompt"]').waitFor({ timeout: 30_000 });
    await promptInput(page, 3).click();
    await scan(page, serial(3));
    await tile(page, 3).locator('.state', { hasText: /passed/i }).waitFor({ timeout: 60_000 });

    // One ZPL job per passed unit, with its serial number and its thing id.
    await expect.poll(() => printer.jobs.length, { timeout: 15_000 }).toBe(2);
    const history = await historyRows(page);
    for (const [index, n] of [1, 3].entries()) {
      const thingId = history.find((row) => row.serial === serial(n) && row.result === 'passed')!.thingId!;
      expect(printer.jobs[index]).toMatch(new RegExp(`^\\^XA[\\s\\S]*\\^FDSN ${serial(n)}\\^FS[\\s\\S]*\\^FDQA,${serial(n)}\\^FS[\\s\\S]*\\^XZ$`));
      expect(printer.jobs[index]).toContain(thingId);
      expect(printer.jobs[index]).toContain('OP-0042 Ada');
    }
  });

  it('with the printer off units still pass, the record says "label not printed", and reprint works once it is back', { timeout: 120_000 }, async () => {
    await printer.stop();
    await page.getByRole('tab', { name: 'Line' }).click();
    await tile(page, 2).getByRole('button', { name: 'Retry' }).click();
    await tile(page, 2).locator('[data-testid="prompt"]').waitFor({ timeout: 30_000 });
    await promptInput(page, 2).click();
    await scan(page, serial(2));
    await tile(page, 2).locator('.state', { hasText: /passed/i }).waitFor({ timeout: 60_000 });
    await expect.poll(() => tile(page, 2).locator('.label-not-printed').innerText()).toMatch(/Label not printed: the printer at 127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\)/);
    await page.screenshot({ path: join(SCREENS, 'line-3-label-not-printed-1280x900.png') });
    let rows = await historyRows(page);
    expect(rows.find((row) => row.serial === serial(2) && row.attempt === '2')).toMatchObject({ result: 'passed', label: 'not printed' });
    // On screen, History's "not printed" opens to why, from the keyboard too.
    const notPrinted = page.locator('tbody tr').filter({ hasText: serial(2) }).getByText('not printed', { exact: true });
    await notPrinted.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('tbody tr').filter({ hasText: serial(2) }).filter({ hasText: 'not printed' }).innerText()).toMatch(/the printer at 127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\)/);

    printer = await startPrinterEmulator({ port: printerPort });
    await page.getByRole('tab', { name: 'Line' }).click();
    await tile(page, 2).getByRole('button', { name: 'Reprint' }).click();
    await expect.poll(() => printer.jobs.length, { timeout: 15_000 }).toBe(1);
    expect(printer.jobs[0]).toContain(`^FDSN ${serial(2)}^FS`);
    await expect.poll(() => tile(page, 2).locator('.label-not-printed').count()).toBe(0);
    rows = await historyRows(page);
    const reprinted = rows.find((row) => row.serial === serial(2) && row.attempt === '2')!;
    expect(reprinted.label).toBe('printed');
    expect(printer.jobs[0]).toContain(reprinted.thingId);
  });

  it('History shows and exports operator, station id, configuration hash and firmware SHA-256 for every attempt', { timeout: 60_000 }, async () => {
    await page.getByRole('tab', { name: 'History' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(5);
    await page.screenshot({ path: join(SCREENS, 'history-traceability-1280x900.png'), fullPage: true });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const [columns, ...rows] = csvRecords(readFileSync((await download.path())!, 'utf8'));
    expect(Object.keys(columns!).slice(-6)).toEqual(['operator', 'stationId', 'configHash', 'firmwareSha256', 'label', 'labelProblem']);
    expect(rows).toHaveLength(5);
    const configHashes = new Set(rows.map((row) => row.configHash));
    expect(configHashes.size).toBe(1);
    for (const row of rows) {
      expect(row).toMatchObject({ operator: 'OP-0042 Ada', stationId: expect.stringMatching(/^[A-Za-z0-9._:-]+$/), configHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      // Every attempt that got as far as flashing names its firmware; one stopped at its label never had any.
      if (row.failedStep === 'label-check') expect(row.firmwareSha256).toBe('');
      else expect(row.firmwareSha256).toMatch(/^[0-9a-f]{64}$/);
    }
    // The same as JSON (the columns station history --format json prints).
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    const json = JSON.parse(readFileSync((await jsonDownload.path())!, 'utf8')) as Array<Record<string, unknown>>;
    expect(json).toHaveLength(5);
    for (const attempt of json) expect(attempt).toMatchObject({ operator: 'OP-0042 Ada', stationId: rows[0]!.stationId, configHash: rows[0]!.configHash, firmwareSha256: attempt.failedStep === 'label-check' ? null : expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(json.map((attempt) => attempt.label)).toEqual(expect.arrayContaining(['printed', 'printed', 'printed']));
  });
});

/** History's rows as the technician reads them, with the thing ids of the CSV the station exports. */
async function historyRows(page: Page): Promise<Array<{ serial: string; attempt: string; result: string; label: string; thingId: string }>> {
  await page.getByRole('tab', { name: 'History' }).click();
  await page.getByRole('button', { name: 'Search' }).click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const [, ...rows] = csvRecords(readFileSync((await download.path())!, 'utf8'));
  return rows.map((cells) => ({ serial: cells.serial!, attempt: cells.attempt!, result: cells.result!, label: cells.label!, thingId: cells.thingId! }));
}

/** RFC 4180 CSV as records by column name; the first record is the header (its own names). */
function csvRecords(text: string): Array<Record<string, string>> {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      record.push(cell);
      cell = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
      i++;
    } else cell += char;
  }
  const [head = [], ...rest] = records;
  return [Object.fromEntries(head.map((name) => [name, name])), ...rest.map((cells) => Object.fromEntries(head.map((name, index) => [name, cells[index] ?? ''])))];
}
