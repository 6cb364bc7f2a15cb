import { afterEach, describe, expect, it } from 'vitest';
import { Esp32Driver } from '../../../main/core/devices/esp32/esp32-driver.ts';
import { parseEsp32Profile } from '../../../main/core/devices/esp32/esp32-profile.ts';
import { partedFirmwareImage } from '../../../main/core/devices/firmware-image.ts';
import { startEsp32InMemory, type MemoryEsp32 } from '../../../main/core/simulator/esp32/esp32-hosts.ts';

describe("the ESP32 driver's compressed flash write", () => {
  let host: MemoryEsp32 | undefined;
  let driver: Esp32Driver | undefined;
  afterEach(async () => {
    await driver?.close();
    await host?.stop();
  });

  // The ROM programs what a block inflates to before it answers: a block of a
  // highly compressible image can take far longer than the 3 s a block gets by default.
  it('gives each block the time the flash needs for what it inflates to', { timeout: 60_000 }, async () => {
    host = startEsp32InMemory('sim://esp32', { chip: 'esp32', mac: '24:0a:c4:00:0c:0c', powerOn: 'download', flashTiming: { eraseMsPerKiB: 0, programMsPerKiB: 5 } });
    driver = new Esp32Driver(host.port, parseEsp32Profile({ driver: 'esp32', name: 'zeros', chip: 'esp32', flashBaudRate: 921600 }));
    // 1.5 MiB of zeros deflates to two blocks; the first inflates to about 1 MiB, 5 s of programming here.
    const data = new Uint8Array(1536 * 1024);
    const progress: number[] = [];
    await driver.flash(partedFirmwareImage([{ name: 'app', offset: 0x10000, data }], 'zeros'), { onProgress: (p) => progress.push(p.bytesDone) });
    expect(progress.at(-1)).toBe(data.length);
    expect(Buffer.from(host.simulator.flash.read(0x10000, data.length)).equals(Buffer.from(data))).toBe(true);
  });

  // FLASH_DEFL_BEGIN erases the whole region before it answers: seconds for a large image, with nothing else to report.
  it('keeps reporting progress while the ROM erases a large region', { timeout: 60_000 }, async () => {
    host = startEsp32InMemory('sim://esp32s3', { chip: 'esp32s3', mac: '24:0a:c4:00:0c:0d', powerOn: 'download', flashTiming: { eraseMsPerKiB: 3, programMsPerKiB: 0 } });
    driver = new Esp32Driver(host.port, parseEsp32Profile({ driver: 'esp32', name: 'erase', chip: 'esp32s3' }));
    await driver.identify();
    // 2 MiB: about 6 s of erasing here.
    const data = new Uint8Array(2048 * 1024).fill(0xff);
    const started = performance.now();
    const events: Array<{ at: number; bytesDone: number }> = [];
    await driver.flash(partedFirmwareImage([{ name: 'app', offset: 0x10000, data }], 'erased'), { onProgress: (p) => events.push({ at: performance.now(), bytesDone: p.bytesDone }) });
    const gaps = events.map((event, index) => event.at - (index === 0 ? started : events[index - 1]!.at));
    expect(performance.now() - started).toBeGreaterThan(5000);
    // A heartbeat every half second; a busy machine gets four times that.
    expect(Math.max(...gaps)).toBeLessThan(2000);
    expect(events.map((event) => event.bytesDone)).toEqual([...events.map((event) => event.bytesDone)].sort((a, b) => a - b));
    expect(events.at(-1)!.bytesDone).toBe(data.length);
  });
});
