import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Esp32Driver } from '../../../main/core/devices/esp32/esp32-driver.ts';
import { parseEsp32Profile } from '../../../main/core/devices/esp32/esp32-profile.ts';
import { partedFirmwareImage } from '../../../main/core/devices/firmware-image.ts';
import { openPort } from '../../../main/core/ports/open-port.ts';
import { buildDemoFirmware } from '../../../main/core/simulator/esp32/demo-firmware.ts';
import { startEsp32OnPty, type PtyEsp32 } from '../../../main/core/simulator/esp32/esp32-hosts.ts';
import { REALISTIC_FLASH } from '../../../main/core/simulator/esp32/rom-loader.ts';
import { makePtyPair, type PtyPair } from '../../helpers/pty-pair.ts';

const RELAY = resolve(import.meta.dirname, '../../../bench/pacing-relay.ts');

describe('the simulated ESP32 for the bench', () => {
  let sim: PtyEsp32 | undefined;
  let pair: PtyPair | undefined;
  let relay: ChildProcess | undefined;
  let driver: Esp32Driver | undefined;
  afterEach(async () => {
    await driver?.close();
    relay?.kill('SIGTERM');
    await pair?.dispose();
    await sim?.stop();
  });

  it('flashes through the pacing relay at 921600 baud, with datasheet flash timing, and takes at least the wire\'s and the flash chip\'s time', async () => {
    sim = await startEsp32OnPty({ chip: 'esp32', mac: '24:0a:c4:00:be:ec', flashTiming: REALISTIC_FLASH });
    pair = await makePtyPair();
    relay = spawn(process.execPath, [RELAY, pair.b, sim.path, '--baud', '921600', '--turnaround-ms', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ready, fail) => {
      relay!.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && ready());
      relay!.once('exit', (code) => fail(new Error(`the relay exited ${code}`)));
    });
    driver = new Esp32Driver(await openPort(pair.a), parseEsp32Profile({ driver: 'esp32', name: 'bench', chip: 'esp32', flashBaudRate: 921600 }));
    const build = buildDemoFirmware({ chip: 'esp32', version: '9.9.9' });
    expect(await driver.identify()).toEqual({ serial: '24:0a:c4:00:be:ec' });
    const started = performance.now();
    await driver.flash(partedFirmwareImage(build.parts, 'bench'));
    const elapsedMs = performance.now() - started;
    const kib = build.parts.reduce((sum, part) => sum + part.data.length, 0) / 1024;
    const flashChipMs = kib * (REALISTIC_FLASH.eraseMsPerKiB + REALISTIC_FLASH.programMsPerKiB);
    // The compressed bytes at 10 bits each; esptool-js's deflate is within a few percent of zlib's.
    const wireMs = (build.parts.reduce((sum, part) => sum + deflateSync(part.data, { level: 9 }).length, 0) * 10 * 1000) / 921600;
    expect(elapsedMs).toBeGreaterThan(flashChipMs + 0.9 * wireMs);
    for (const part of build.parts) expect(Buffer.from(sim.simulator.flash.read(part.offset, part.data.length)).equals(Buffer.from(part.data))).toBe(true);
  });
});
