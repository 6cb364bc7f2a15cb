import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { ENGINEER_IDLE_MS } from '../../../contract/station-contract.ts';
import { jsonFileSettingsStore } from '../../../main/core/desk/desk-settings.ts';
import { APP_WINDOW, dispatch } from '../../../main/core/desk/dispatch.ts';
import { OperatorAccess, screenSession } from '../../../main/core/desk/operator-access.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { clearEngineerPin, storeEngineerPin, storedPinHash } from '../../../main/core/operator/engineer-pin.ts';
import { startWebServer, type RunningWebServer } from '../../../main/core/serve/web-server.ts';
import { dataFolder } from '../../../main/core/storage/data-folder.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';

const PIN = '735911';
type AnswerOf = { ok: boolean; value?: Record<string, unknown>; error?: string };

/** A browser's socket: its calls, and every frame it sent (to see what carried the PIN). */
async function client(url: string) {
  const ws = new WebSocket(url);
  const sent: string[] = [];
  const answers = new Map<number, AnswerOf>();
  const headers: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { kind: string; id: number; answer: AnswerOf; update: { type: string; header?: Record<string, unknown>; snapshot?: { header: Record<string, unknown> } } };
    if (message.kind === 'answer') answers.set(message.id, message.answer);
    else if (message.update.type === 'header') headers.push(message.update.header!);
    else if (message.update.type === 'snapshot') headers.push(message.update.snapshot!.header);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 1;
  const call = async (method: string, ...params: unknown[]): Promise<AnswerOf> => {
    const id = nextId++;
    const text = JSON.stringify({ id, method, params });
    sent.push(text);
    ws.send(text);
    const deadline = Date.now() + 10_000;
    while (!answers.has(id)) {
      if (Date.now() > deadline) throw new Error(`no answer to ${method}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return answers.get(id)!;
  };
  return { ws, call, sent, headers };
}

const settings = { backend: 'gadgetkeeper', url: 'http://127.0.0.1:9', fields: {}, secret: 'pk-operator-mode-0001', ports: ['/dev/ttyNOPE0'], autoStart: false };
const profile = JSON.stringify({ name: 'other', serial: { baudRate: 9600 } });

describe('operator mode: the engineer PIN, enforced where calls are dispatched (station serve\'s WebSocket)', () => {
  let dir: string;
  let desk: StationDesk;
  let server: RunningWebServer;
  const wsUrl = () => `${server.url.replace('http', 'ws')}ws`;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'operator-mode-'));
    desk = new StationDesk({ dataDir: dir, settings: jsonFileSettingsStore(join(dir, 'settings.json')), secretKey: randomBytes(32) });
    await desk.init();
    server = await startWebServer({ desk, staticDir: join(dir, 'static'), allowSettings: true });
  });
  afterEach(async () => {
    await server.close();
    await desk.close(0);
    rmSync(dir, { recursive: true, force: true });
  });

  /** `station engineer-pin set` does this on the data folder's journal. */
  async function setPinAsTheCommandLineDoes(pin: string): Promise<void> {
    const journal = Journal.open(dataFolder(dir).journal, new SecretBox(randomBytes(32)));
    await storeEngineerPin(journal, pin);
    journal.close();
  }

  it('with a PIN set, every call that changes the line is refused until this socket is unlocked; the others stay locked', async () => {
    const a = await client(wsUrl());
    const b = await client(wsUrl());
    expect((await a.call('session')).value).toEqual({ engineer: false, engineerPinSet: false });
    await setPinAsTheCommandLineDoes(PIN);
    // Applies at once, with no restart: the hash is read at every check.
    expect((await a.call('session')).value).toEqual({ engineer: false, engineerPinSet: true });
    for (const [method, ...params] of [['saveSettings', settings], ['checkSettings', settings], ['importProfile', profile], ['useBuiltInProfile', 'reference'], ['startDemo'], ['startLine'], ['stopLine'], ['startFirmwareUpload', { name: 'fw.bin', size: 10 }], ['setEngineerPin', { pin: '0000' }]] as const) {
      const answer = await a.call(method, ...params);
      expect(answer.ok, method).toBe(false);
      expect(answer.error, method).toMatch(/refused\. This station is in operator mode: changing the line needs the engineer/);
    }
    expect(readdirSync(dir)).not.toContain('settings.json');
    // The operator's calls are not the engineer's: they reach the desk (and fail there for want of a line, not of a PIN).
    expect((await a.call('retryUnit', 1)).error).toMatch(/no line configured/);
    expect((await a.call('history', {})).ok).toBe(true);

    expect(await a.call('unlockEngineer', { pin: '000000' })).toMatchObject({ ok: false, error: expect.stringMatching(/that is not the engineer PIN/) });
    expect(await a.call('unlockEngineer', { pin: PIN })).toEqual({ ok: true, value: { engineer: true, engineerPinSet: true, engineerLocksInMs: expect.any(Number) } });
    expect(await a.call('useBuiltInProfile', 'reference-window')).toMatchObject({ ok: true, value: { profileName: 'reference-window' } });
    expect(await a.call('saveSettings', settings)).toMatchObject({ ok: true });
    // The other screen is still locked.
    expect((await b.call('saveSettings', settings)).error).toMatch(/operator mode/);
    expect((await b.call('importProfile', profile)).error).toMatch(/operator mode/);

    // The PIN crossed the wire once, in the unlock; nothing stores it: the journal has its scrypt hash only.
    expect(a.sent.filter((frame) => frame.includes(PIN))).toEqual([expect.stringContaining('"unlockEngineer"')]);
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).not.toContain(PIN);
    for (const file of readdirSync(dir).filter((name) => name.startsWith('journal.sqlite'))) expect(readFileSync(join(dir, file)).includes(PIN)).toBe(false);
    const journal = Journal.openExisting(dataFolder(dir).journal, new SecretBox(randomBytes(32)))!;
    expect(storedPinHash(journal)).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    journal.close();

    // Locked again (or a new connection): refused again.
    expect((await a.call('lockEngineer')).value).toEqual({ engineer: false, engineerPinSet: true });
    expect((await a.call('stopLine')).error).toMatch(/operator mode/);
    a.ws.close();
    const again = await client(wsUrl());
    expect((await again.call('stopLine')).error).toMatch(/operator mode/);
    again.ws.close();
    b.ws.close();
  });

  it('an unlocked screen locks itself after 15 minutes without a change to the line; reading does not keep it open', async () => {
    let clock = Date.parse('2026-11-30T08:00:00Z');
    const minutes = (count: number) => (clock += count * 60_000);
    const clocked = new StationDesk({ dataDir: join(dir, 'clocked'), settings: jsonFileSettingsStore(join(dir, 'clocked.json')), secretKey: randomBytes(32), now: () => clock });
    await clocked.init();
    const clockedServer = await startWebServer({ desk: clocked, staticDir: join(dir, 'static'), allowSettings: true });
    try {
      const a = await client(`${clockedServer.url.replace('http', 'ws')}ws`);
      expect(await a.call('setEngineerPin', { pin: PIN })).toEqual({ ok: true, value: { engineer: true, engineerPinSet: true, engineerLocksInMs: 15 * 60_000 } });
      minutes(14);
      // Reading is not using the unlock, nor is checking settings or a call refused for its parameters: the time left runs on.
      expect((await a.call('history', {})).ok).toBe(true);
      expect((await a.call('checkSettings', settings)).ok).toBe(true);
      expect((await a.call('saveSettings', { backend: 42 })).error).toMatch(/saveSettings: refused, malformed parameters/);
      expect((await a.call('session')).value).toEqual({ engineer: true, engineerPinSet: true, engineerLocksInMs: 60_000 });
      // A change to the line is: 15 minutes from now again.
      expect(await a.call('useBuiltInProfile', 'reference-window')).toMatchObject({ ok: true });
      expect((await a.call('session')).value).toEqual({ engineer: true, engineerPinSet: true, engineerLocksInMs: 15 * 60_000 });
      minutes(15);
      expect((await a.call('session')).value).toEqual({ engineer: false, engineerPinSet: true });
      expect((await a.call('useBuiltInProfile', 'reference')).error).toMatch(/refused\. This station is in operator mode: changing the line needs the engineer/);
      // Locked for good: time going back (a clock set right) does not reopen it; the PIN does.
      clock -= 10 * 60_000;
      expect((await a.call('stopLine')).error).toMatch(/operator mode/);
      expect(await a.call('unlockEngineer', { pin: PIN })).toEqual({ ok: true, value: { engineer: true, engineerPinSet: true, engineerLocksInMs: 15 * 60_000 } });
      a.ws.close();
    } finally {
      await clockedServer.close();
      await clocked.close(0);
    }
  });

  it('the idle lock runs on a monotonic clock: a wall clock set back while a screen is unlocked does not keep it open', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const access = new OperatorAccess({ journalPath: join(dir, 'monotonic', 'journal.sqlite'), box: new SecretBox(randomBytes(32)) });
    try {
      const session = screenSession({ mayConfigure: true });
      expect(await access.setPin(session, PIN)).toMatchObject({ engineer: true, engineerLocksInMs: ENGINEER_IDLE_MS });
      // Someone (or a time sync) sets the station's clock back an hour; then the screen is left alone for the idle time.
      vi.setSystemTime(Date.now() - 60 * 60_000);
      vi.advanceTimersByTime(ENGINEER_IDLE_MS);
      expect(access.view(session)).toEqual({ engineer: false, engineerPinSet: true });
    } finally {
      vi.useRealTimers();
      access.close();
    }
  });

  it('a PIN changed or cleared locks every screen unlocked with the old one, whoever changed it', async () => {
    await setPinAsTheCommandLineDoes(PIN);
    const a = await client(wsUrl());
    const b = await client(wsUrl());
    for (const screen of [a, b]) expect((await screen.call('unlockEngineer', { pin: PIN })).ok).toBe(true);
    // Changed from screen a: a holds the new PIN's unlock, b the old one's.
    expect(await a.call('setEngineerPin', { pin: '246810' })).toMatchObject({ ok: true, value: { engineer: true } });
    expect((await b.call('session')).value).toEqual({ engineer: false, engineerPinSet: true });
    expect((await b.call('stopLine')).error).toMatch(/operator mode/);
    expect(await a.call('useBuiltInProfile', 'reference-window')).toMatchObject({ ok: true });
    // Changed from the command line (the PIN leaked): no screen stays open.
    await setPinAsTheCommandLineDoes('135790');
    expect((await a.call('session')).value).toEqual({ engineer: false, engineerPinSet: true });
    expect((await a.call('useBuiltInProfile', 'reference')).error).toMatch(/operator mode/);
    // Cleared, then set again: the unlock made before does not come back.
    expect((await b.call('unlockEngineer', { pin: '135790' })).ok).toBe(true);
    const journal = Journal.open(dataFolder(dir).journal, new SecretBox(randomBytes(32)));
    clearEngineerPin(journal);
    journal.close();
    expect((await b.call('session')).value).toEqual({ engineer: false, engineerPinSet: false });
    await setPinAsTheCommandLineDoes('135790');
    expect((await b.call('session')).value).toEqual({ engineer: false, engineerPinSet: true });
    expect((await b.call('stopLine')).error).toMatch(/operator mode/);
    a.ws.close();
    b.ws.close();
  });

  it('after five wrong PINs no PIN is checked for a while, the right one included', async () => {
    await setPinAsTheCommandLineDoes(PIN);
    const a = await client(wsUrl());
    // Sent at once: they are checked one at a time, so the sixth already meets the lock.
    const answers = await Promise.all(['1111', '2222', '3333', '4444', '5555', PIN].map((pin) => a.call('unlockEngineer', { pin })));
    expect(answers.slice(0, 5).map((answer) => answer.error)).toEqual(Array(5).fill(expect.stringMatching(/not the engineer PIN/)));
    expect(answers[5]).toMatchObject({ ok: false, error: expect.stringMatching(/5 wrong PINs in a row: no PIN is checked for \d+ s/) });
    expect((await a.call('saveSettings', settings)).error).toMatch(/operator mode/);
    a.ws.close();
  });

  it('each pause after five more wrong PINs is twice as long, up to an hour; the right PIN starts again from a minute', { timeout: 60_000 }, async () => {
    let clock = 0;
    const access = new OperatorAccess({ journalPath: join(dir, 'lockout', 'journal.sqlite'), box: new SecretBox(randomBytes(32)), now: () => clock });
    try {
      await access.setPin(screenSession({ mayConfigure: true }), PIN);
      const guesser = screenSession({ mayConfigure: false });
      const guess = (pin: string) => access.unlock(guesser, pin).then(() => 'unlocked', (error: Error) => error.message);
      const fiveWrong = async () => {
        for (let i = 0; i < 5; i++) expect(await guess('0000')).toMatch(/not the engineer PIN/);
        return guess(PIN);
      };
      const seconds = (count: number) => (clock += count * 1000);
      // The pauses in a row: 1, 2, 4 … minutes, never more than an hour.
      for (const minutes of [1, 2, 4, 8, 16, 32, 60, 60]) {
        // Said in minutes once it is long: "60 min", not "3600 s".
        expect(await fiveWrong()).toBe(`5 wrong PINs in a row: no PIN is checked for ${minutes < 3 ? `${minutes * 60} s` : `${minutes} min`}`);
        seconds(minutes * 60 - 1);
        expect(await guess(PIN), `after a pause of ${minutes} min`).toMatch(/5 wrong PINs in a row: no PIN is checked for 1000 ms/);
        seconds(1);
      }
      // The right PIN opens the screen and ends the run: the next pause is a minute again.
      expect(await guess(PIN)).toBe('unlocked');
      expect(await fiveWrong()).toMatch(/5 wrong PINs in a row/);
      seconds(60);
      expect(await guess(PIN)).toBe('unlocked');
    } finally {
      access.close();
    }
  });

  it('the first PIN may be set from a screen that may configure; then only a screen unlocked with it changes it', async () => {
    const a = await client(wsUrl());
    const b = await client(wsUrl());
    expect(await a.call('setEngineerPin', { pin: '12' })).toMatchObject({ ok: false, error: expect.stringMatching(/refused, malformed parameters \(the PIN has at least 4 characters\)/) });
    expect(await a.call('setEngineerPin', { pin: PIN })).toEqual({ ok: true, value: { engineer: true, engineerPinSet: true, engineerLocksInMs: expect.any(Number) } });
    await expect.poll(() => b.headers.at(-1)?.engineerPinSet).toBe(true);
    expect((await b.call('setEngineerPin', { pin: '9999' })).error).toMatch(/operator mode/);
    expect(await a.call('setEngineerPin', { pin: '24681357' })).toMatchObject({ ok: true });
    expect((await b.call('unlockEngineer', { pin: PIN })).error).toMatch(/not the engineer PIN/);
    expect((await b.call('unlockEngineer', { pin: '24681357' })).ok).toBe(true);
    a.ws.close();
    b.ws.close();
  });

  it('two screens setting the first PIN at once: the second is refused once the first holds, and the first PIN stands', async () => {
    // Both calls pass the dispatcher's check while no PIN is set yet (as two screens' calls arriving together do);
    // the PIN checks run one at a time, and the second must find the first PIN set and its screen not unlocked with it.
    const first = screenSession(APP_WINDOW);
    const second = screenSession(APP_WINDOW);
    const [won, lost] = await Promise.all([dispatch(desk, 'setEngineerPin', [{ pin: PIN }], first), dispatch(desk, 'setEngineerPin', [{ pin: '24681357' }], second)]);
    expect(won).toMatchObject({ ok: true, value: { engineer: true, engineerPinSet: true } });
    expect(lost).toMatchObject({ ok: false, error: expect.stringMatching(/an engineer PIN is already set; only a screen unlocked with it may change it/) });
    expect(second.engineer).toBe(false);
    expect(await dispatch(desk, 'unlockEngineer', [{ pin: '24681357' }], screenSession(APP_WINDOW))).toMatchObject({ ok: false, error: expect.stringMatching(/not the engineer PIN/) });
    expect(await dispatch(desk, 'unlockEngineer', [{ pin: PIN }], screenSession(APP_WINDOW))).toMatchObject({ ok: true });
  });

  it('an operator signs in by name or badge: every screen\'s header names them; a name with control characters is refused', async () => {
    const a = await client(wsUrl());
    const b = await client(wsUrl());
    expect(await a.call('signIn', { name: '  Ada Lovelace ', via: 'typed' })).toEqual({ ok: true, value: { operator: { name: 'Ada Lovelace', via: 'typed' }, engineer: false, engineerPinSet: false } });
    await expect.poll(() => b.headers.at(-1)?.operator).toEqual({ name: 'Ada Lovelace', via: 'typed' });
    expect((await b.call('signIn', { name: 'Eve\u0007', via: 'badge' })).error).toMatch(/refused, malformed parameters \(a name has no control characters\)/);
    expect((await b.call('signIn', { name: 'OP-0042 Grace', via: 'badge' })).ok).toBe(true);
    await expect.poll(() => a.headers.at(-1)?.operator).toEqual({ name: 'OP-0042 Grace', via: 'badge' });
    expect((await b.call('signOut')).value).toEqual({ engineer: false, engineerPinSet: false });
    await expect.poll(() => a.headers.at(-1)?.operator).toBeUndefined();
    a.ws.close();
    b.ws.close();
  });
});
