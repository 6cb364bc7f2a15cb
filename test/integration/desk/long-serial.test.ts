import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_GADGETKEEPER_SEED, startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { jsonFileSettingsStore } from '../../../main/core/desk/desk-settings.ts';
import { dispatch } from '../../../main/core/desk/dispatch.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { REFERENCE_PROFILE } from '../../../main/core/devices/profile/reference-profile.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';

/**
 * A device profile may take any serial number its pattern matches, of any
 * length up to a line; screens carry at most 128 characters of one. A unit
 * that reports a longer one (a profile whose pattern sets no length, line
 * noise) must fail at identify, saying so, and not blank every screen and
 * History with a snapshot outside the contract.
 */
describe('a unit that reports a serial number longer than screens carry', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('fails at identify with the reason, and the screen, History and the export still answer', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'long-serial-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const cloud = await startGadgetKeeperEmulator(DEMO_GADGETKEEPER_SEED);
    cleanup.push(() => cloud.stop());
    const serial = `THERM${'7'.repeat(195)}`;
    const unit = await startSimulatorOnPty({ serial, bootDelayMs: 20 }, dir, 'slot');
    cleanup.push(() => unit.stop());
    // An imported profile whose serial pattern sets no length.
    const profile = { ...REFERENCE_PROFILE, name: 'unbounded-serial', maxLineLength: 1024, serialNumberPattern: '^\\S+$' };
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ profile: JSON.stringify(profile) }));
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: cloud.url, productKey: 'pk-long-serial-0001' }, ports: [unit.path], autoStart: false });
    const desk = new StationDesk({ dataDir: dir, settings: jsonFileSettingsStore(join(dir, 'settings.json')), secretKey: randomBytes(32), fixedConfig: { config, source: 'line.json' } });
    cleanup.push(() => desk.close(0));
    await desk.init();

    expect(await dispatch(desk, 'startPort', [unit.path])).toEqual({ ok: true, value: { ok: true } });
    await expect.poll(() => desk.snapshot().tiles[0]?.state, { timeout: 30_000 }).toBe('failed');
    const snapshot = await dispatch(desk, 'snapshot', []);
    expect(snapshot, JSON.stringify(snapshot).slice(0, 300)).toMatchObject({
      ok: true,
      value: { tiles: [{ state: 'failed', failure: { step: 'identify', message: expect.stringMatching(/serial number of 200 characters; the station takes at most 128/) } }] },
    });
    expect(await dispatch(desk, 'history', [{}])).toMatchObject({ ok: true, value: [{ result: 'failed', failedStep: 'identify' }] });
    expect(await dispatch(desk, 'exportCsv', [{}])).toMatchObject({ ok: true });
    expect(unit.simulator.storedCredentials).toBeUndefined();
  });
});
