import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startStationServe } from '../helpers/station-serve.ts';
import { useChromium } from '../helpers/chromium.ts';


describe('station serve in Chromium: the access token and settings from a browser', () => {
  const browser = useChromium();

  it('the printed address connects, leaves the token out of the address bar, and still connects after a reload; without the token it does not', { timeout: 60_000 }, async () => {
    const station = await startStationServe([]);
    try {
      expect(station.token).toBeDefined();
      const page = await browser().newPage();
      await page.goto(station.url);
      await page.getByRole('heading', { name: 'No line is configured yet' }).waitFor();
      expect(page.url()).toBe(new URL(station.url).origin + '/');
      await page.reload();
      await page.getByRole('heading', { name: 'No line is configured yet' }).waitFor();
      await page.close();

      const stranger = await browser().newPage();
      await stranger.goto(new URL(station.url).origin + '/');
      await stranger.getByRole('alert').filter({ hasText: /opened without its access token\. Open the address station serve printed/ }).first().waitFor({ timeout: 20_000 });
      expect(await stranger.getByRole('heading', { name: 'No line is configured yet' }).count()).toBe(0);
      await stranger.close();
    } finally {
      await station.stop();
    }
  });

  it('without --allow-settings a save is refused on screen, saying how to allow it', { timeout: 60_000 }, async () => {
    const station = await startStationServe([]);
    try {
      const page = await browser().newPage();
      await page.goto(station.url);
      await page.getByRole('tab', { name: 'Settings' }).click();
      // The form fills itself once the settings arrive; type after that.
      await expect.poll(() => page.getByText('In use:').innerText()).toBe('In use: reference');
      await page.getByLabel('Address').fill('https://api.gadgetkeeper.example');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByRole('alert').filter({ hasText: /saveSettings: refused\. .*--allow-settings/ }).waitFor({ timeout: 20_000 });
      expect(existsSync(join(station.dataDir, 'settings.json'))).toBe(false);
      await page.close();
    } finally {
      await station.stop();
    }
  });

  it('with --allow-settings a firmware file uploads in chunks into the firmware folder and fills in its name', { timeout: 60_000 }, async () => {
    const station = await startStationServe(['--allow-settings']);
    try {
      const page = await browser().newPage();
      await page.goto(station.url);
      await page.getByRole('tab', { name: 'Settings' }).click();
      // The form fills itself once the settings arrive; type after that.
      await expect.poll(() => page.getByText('In use:').innerText()).toBe('In use: reference');
      await page.getByLabel('Backend').selectOption('fleetfreedom');
      const image = randomBytes(700_000);
      await page.getByLabel('Upload a firmware file').setInputFiles({ name: 'therm 1.2.0.bin', mimeType: 'application/octet-stream', buffer: image });
      await page.getByRole('status').filter({ hasText: 'Firmware therm_1.2.0.bin is in the firmware folder' }).waitFor({ timeout: 20_000 });
      expect(await page.getByLabel('Firmware file', { exact: true }).inputValue()).toBe('therm_1.2.0.bin');
      expect(readFileSync(join(station.dataDir, 'firmware-files', 'therm_1.2.0.bin')).equals(image)).toBe(true);
      await page.close();
    } finally {
      await station.stop();
    }
  });
});
