import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { SettingsInput } from '../../../contract/station-contract.ts';
import { DEMO_GADGETKEEPER_SEED, startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { jsonFileSettingsStore } from '../../../main/core/desk/desk-settings.ts';
import { dispatch } from '../../../main/core/desk/dispatch.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { checkScreenPort, loadStationPolicy, policedOpen } from '../../../main/core/desk/station-policy.ts';
import { openPort } from '../../../main/core/ports/open-port.ts';
import { deviceKind } from '../../../main/core/ports/device-kind.ts';
import { makePtyPair, type PtyPair } from '../../helpers/pty-pair.ts';
import { until } from '../../helpers/until.ts';

/**
 * A screen that may change the settings must not name a pseudo-terminal: it
 * may be a terminal session of the user the station runs as, whose keystrokes
 * the station would read and into which it would write. Only the station
 * policy file, which no screen can write, allows ptys (for a simulated line or
 * a socat bridge).
 */
describe('a pty named from a screen', () => {
  let dir: string;
  let pair: PtyPair;
  let cloud: GadgetKeeperEmulator;
  let desk: StationDesk | undefined;
  const settingsFile = () => join(dir, 'settings.json');
  const line = (port: string): SettingsInput => ({ backend: 'gadgetkeeper', url: cloud.url, fields: {}, secret: 'pk-product-key-0001', ports: [port], autoStart: false });
  const openDesk = async (secretKey = randomBytes(32)) => {
    desk = new StationDesk({ dataDir: dir, settings: jsonFileSettingsStore(settingsFile()), secretKey });
    await desk.init();
    return desk;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'screen-pty-'));
    pair = await makePtyPair();
    cloud = await startGadgetKeeperEmulator(DEMO_GADGETKEEPER_SEED);
  });
  afterEach(async () => {
    await desk?.close(0);
    desk = undefined;
    await cloud.stop();
    await pair.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is known by its device, through the link socat made', () => {
    const real = realpathSync(pair.a);
    expect(real).toMatch(/^\/dev\/pts\/\d+$/);
    expect(deviceKind(real)).toEqual({ kind: 'pseudo-terminal' });
    expect(() => checkScreenPort(pair.a, loadStationPolicy(dir))).toThrow(`port ${pair.a} (${real}) is a pseudo-terminal (a terminal session or a software bridge), which a screen may not name`);
    expect(() => checkScreenPort(real, loadStationPolicy(dir))).toThrow(`port ${real} is a pseudo-terminal`);
  });

  it('is refused next to the ports field, and nothing is stored', async () => {
    const station = await openDesk();
    const real = realpathSync(pair.b);
    const checked = await dispatch(station, 'checkSettings', [line(pair.b)]);
    expect(checked).toEqual({
      ok: true,
      value: [
        {
          field: 'ports',
          label: 'Ports',
          message: expect.stringMatching(new RegExp(`^Port ${pair.b} \\(${real}\\) is a pseudo-terminal .*which a screen may not name\\. .*ask the station's operator to set "pseudoTerminals": true in the station policy file and restart the station\\.$`)),
        },
      ],
    });
    const saved = await dispatch(station, 'saveSettings', [line(pair.b)]);
    expect(saved).toEqual({ ok: false, error: expect.stringMatching(/settings not saved: Port .* is a pseudo-terminal/) });
    expect(existsSync(settingsFile())).toBe(false);
    expect(station.snapshot().tiles).toEqual([]);
  });

  it('saved while the policy allowed it, and the policy changed since: the station says the saved settings cannot open the line, and why', async () => {
    const key = randomBytes(32);
    writeFileSync(join(dir, 'station-policy.json'), JSON.stringify({ pseudoTerminals: true }));
    expect(await dispatch(await openDesk(key), 'saveSettings', [line(pair.a)])).toMatchObject({ ok: true });
    await desk!.close(0);
    writeFileSync(join(dir, 'station-policy.json'), JSON.stringify({}));
    const restarted = await openDesk(key);
    const problem = restarted.snapshot().header.problem ?? '';
    expect(problem).toMatch(/^the saved settings cannot open the line: Port .* is a pseudo-terminal/);
    expect(problem).toContain('"pseudoTerminals": true');
    expect(problem).not.toContain('not saved');
  });

  it('is accepted when the station policy allows pseudo-terminals, and the line opens on it', async () => {
    writeFileSync(join(dir, 'station-policy.json'), JSON.stringify({ pseudoTerminals: true }));
    const station = await openDesk();
    expect(await dispatch(station, 'checkSettings', [line(pair.a)])).toEqual({ ok: true, value: [] });
    expect(await dispatch(station, 'saveSettings', [line(pair.a)])).toMatchObject({ ok: true, value: { ports: [{ path: pair.a }] } });
    expect(station.snapshot().tiles.map((tile) => tile.port)).toEqual([pair.a]);
    // Allowing ptys is not allowing the machine's own terminal.
    expect(await dispatch(station, 'checkSettings', [line('/dev/tty')])).toMatchObject({ ok: true, value: [{ field: 'ports', message: expect.stringMatching(/^Port \/dev\/tty is one of this machine's own terminals/) }] });
  });
  it('is held to the policy again each time the port is opened: a link re-pointed after saving leads nowhere it may not', { timeout: 60_000 }, async () => {
    writeFileSync(join(dir, 'station-policy.json'), JSON.stringify({ pseudoTerminals: true }));
    const station = await openDesk();
    // A link anyone with the folder may change: it leads to the pty when the settings are saved...
    const link = join(dir, 'ttyBridge');
    symlinkSync(pair.a, link);
    expect(await dispatch(station, 'saveSettings', [line(link)])).toMatchObject({ ok: true });
    // ...and to a memory device (it could be the station user's own terminal) when the unit starts.
    unlinkSync(link);
    symlinkSync('/dev/null', link);
    expect(await dispatch(station, 'startPort', [link])).toEqual({ ok: true, value: { ok: true } });
    await until(() => station.snapshot().tiles[0]?.state === 'failed', 30_000);
    const [tile] = station.snapshot().tiles;
    expect(tile?.failure).toMatchObject({ step: 'identify', message: expect.stringContaining(`port ${link} (/dev/null) is a memory device (like /dev/null or /dev/urandom), not a serial port, which a screen may not name`) });
  });

  it('opens the device it checked: a link re-pointed between the check and the open changes nothing, and then counts as the unit gone', async () => {
    writeFileSync(join(dir, 'station-policy.json'), JSON.stringify({ pseudoTerminals: true }));
    const policy = loadStationPolicy(dir);
    const link = join(dir, 'ttyBridge');
    symlinkSync(pair.a, link);
    const unit = await openPort(pair.b);
    let heard = '';
    unit.onData((chunk) => (heard += chunk.toString()));
    // The moment a race needs: checked, not opened yet. The link now leads to a memory device.
    const racingOpen: typeof openPort = async (path, options) => {
      unlinkSync(link);
      symlinkSync('/dev/null', link);
      return openPort(path, options);
    };
    const port = await policedOpen(racingOpen, policy)(link);
    try {
      expect(port.path).toBe(link);
      await port.write(Buffer.from('PING\n'));
      await until(() => heard === 'PING\n', 10_000);
      // The name the screen gave leads elsewhere now: the unit behind it is not the one open.
      await expect(port.closed).resolves.toMatchObject({ kind: 'disconnected' });
    } finally {
      await port.close();
      await unit.close();
    }
  });
});
