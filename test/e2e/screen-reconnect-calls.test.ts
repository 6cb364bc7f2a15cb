import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SignedIn } from '../../contract/station-contract.ts';
import { jsonFileSettingsStore } from '../../main/core/desk/desk-settings.ts';
import type { ScreenSession } from '../../main/core/desk/dispatch.ts';
import { StationDesk } from '../../main/core/desk/station-desk.ts';
import { startWebServer, type RunningWebServer } from '../../main/core/serve/web-server.ts';
import { useChromium } from '../helpers/chromium.ts';


describe('a screen whose station went away', () => {
  const browser = useChromium();

  it('never sends a call it already told the user had failed (no answer in time) once the station is back', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'screen-reconnect-'));
    const desk = new StationDesk({ dataDir: dir, settings: jsonFileSettingsStore(join(dir, 'settings.json')), secretKey: randomBytes(32) });
    await desk.init();
    // Every sign-in the station carries out, in order: the real desk's, only watched.
    const signedIn: string[] = [];
    const signIn = desk.signIn.bind(desk);
    desk.signIn = (who: SignedIn, session: ScreenSession) => {
      signedIn.push(who.name);
      return signIn(who, session);
    };
    const token = randomBytes(16).toString('hex');
    const serve = (port = 0) => startWebServer({ desk, staticDir: resolve('out/renderer'), token, port });
    let server: RunningWebServer = await serve();
    const port = Number(new URL(server.url).port);
    const page = await browser().newPage();
    try {
      // The page's timers run on a clock the test moves: the call's 30 s timeout and the reconnect back-off.
      await page.clock.install();
      await page.goto(`${server.url}#token=${token}`);
      await page.getByRole('heading', { name: 'No line is configured yet' }).waitFor();
      await server.close();
      await page.getByRole('alert').filter({ hasText: /connection to the station was lost/i }).first().waitFor();

      // Signed in while the station is away: the call waits to be sent, then times out, and the screen says so.
      await page.getByRole('textbox', { name: 'Operator' }).fill('Stale Sam');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.clock.fastForward(31_000);
      await page.getByRole('alert').filter({ hasText: 'signIn: the station did not answer within 30 s' }).waitFor();

      // The station comes back; the screen reconnects by itself.
      server = await serve(port);
      await expect
        .poll(
          async () => {
            await page.clock.fastForward(10_000);
            return page.getByRole('alert').filter({ hasText: /connection to the station was lost/i }).count();
          },
          { timeout: 30_000 },
        )
        .toBe(0);
      // A call made now goes after anything the screen still held for the station, on the same connection.
      // (Had the stale sign-in gone through, the header would name Stale Sam and offer no sign-in field.)
      await page.getByRole('textbox', { name: 'Operator' }).fill('Fresh Fay', { timeout: 10_000 });
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByTestId('operator').innerText()).toMatch(/Operator: Fresh Fay/);
      expect(signedIn).toEqual(['Fresh Fay']);
    } finally {
      await page.close();
      await server.close();
      await desk.close(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says the station refuses it when the station came back with a new access token, not "reconnecting" for ever', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'screen-reconnect-'));
    const desk = new StationDesk({ dataDir: dir, settings: jsonFileSettingsStore(join(dir, 'settings.json')), secretKey: randomBytes(32) });
    await desk.init();
    const serve = (token: string, port = 0) => startWebServer({ desk, staticDir: resolve('out/renderer'), token, port });
    const token = randomBytes(16).toString('hex');
    let server: RunningWebServer = await serve(token);
    const port = Number(new URL(server.url).port);
    const page = await browser().newPage();
    const refused = page.getByRole('alert').filter({ hasText: /station is running but refuses this screen: a restarted station has a new access token/ });
    const lost = page.getByRole('alert').filter({ hasText: /connection to the station was lost/i });
    try {
      await page.clock.install();
      await page.goto(`${server.url}#token=${token}`);
      await page.getByRole('heading', { name: 'No line is configured yet' }).waitFor();
      await server.close();
      // Away, the station is being reconnected to, and that is all the screen can say.
      for (let wait = 0; wait < 3; wait++) await page.clock.fastForward(10_000);
      await lost.waitFor();
      expect(await refused.count()).toBe(0);

      // Back with another token (every start makes a new one): the screen says what to do.
      server = await serve(randomBytes(16).toString('hex'), port);
      await expect
        .poll(
          async () => {
            await page.clock.fastForward(10_000);
            return refused.count();
          },
          { timeout: 30_000 },
        )
        .toBe(1);
    } finally {
      await page.close();
      await server.close();
      await desk.close(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
