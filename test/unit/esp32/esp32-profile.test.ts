import { describe, expect, it } from 'vitest';
import { ESP32_BUILT_IN_PROFILES } from '../../../main/core/devices/esp32/builtin-profiles.ts';
import { esp32Capabilities, parseEsp32Profile } from '../../../main/core/devices/esp32/esp32-profile.ts';
import { RESET_SEQUENCES, runResetSequence } from '../../../main/core/devices/esp32/reset-sequences.ts';
import { createMemoryPortPair } from '../../../main/core/ports/memory-port.ts';

describe('the ESP32 device profile', () => {
  it('needs only a name and a chip; the rest defaults to esptool-like behaviour', () => {
    const profile = parseEsp32Profile({ driver: 'esp32', name: 'thermo-s3', chip: 'esp32s3' });
    expect(profile).toMatchObject({
      reset: { enterBootloader: 'classic', hardReset: 'hard-reset', attempts: 4 },
      romBaudRate: 115200,
      serialNumber: { source: 'mac', format: 'colon-lower' },
      credentials: { namespace: 'station', keys: { thingId: 'thingId', apiKey: 'apiKey' } },
      boot: { readVersionBeforeFlash: false },
    });
    expect(profile.flashBaudRate).toBeUndefined();
    expect(esp32Capabilities(profile)).toEqual({ readVersion: false, credentials: true, flash: true, reboot: true });
  });

  it('comes built in for each supported chip', () => {
    expect(Object.keys(ESP32_BUILT_IN_PROFILES)).toEqual(['esp32-devkit', 'esp32s3-devkit', 'esp32c3-devkit']);
    expect(ESP32_BUILT_IN_PROFILES['esp32c3-devkit']).toMatchObject({ chip: 'esp32c3', flashBaudRate: 921600 });
  });

  it('takes reset sequences of its own, addresses in hex, and names every bad field', () => {
    const profile = parseEsp32Profile({
      driver: 'esp32',
      name: 'custom',
      chip: 'esp32',
      reset: { enterBootloader: [{ dtr: false, rts: true }, { waitMs: 200 }, { dtr: true, rts: false }, { waitMs: 100 }, { dtr: false }] },
      credentials: { nvsPartition: { offset: '0x9000', size: 24576 } },
    });
    expect(profile.reset.enterBootloader).toHaveLength(5);
    expect(profile.credentials.nvsPartition).toEqual({ offset: 0x9000, size: 0x6000 });
    expect(() =>
      parseEsp32Profile({
        driver: 'esp32',
        name: 'bad',
        chip: 'esp8266',
        serialNumber: { source: 'boot-output', pattern: 'SN: (\\S+)' },
        credentials: { keys: { apiKey: 'a-key-much-too-long' } },
        reset: { enterBootloader: [{ waitMs: 10, dtr: true }] },
      }),
    ).toThrow(/chip: .*; reset\.enterBootloader.*; serialNumber\.pattern: needs a named group \(\?<serial>…\); credentials\.keys\.apiKey: must be 1 to 15/);
  });

  it('refuses flash addresses off a 4 KiB sector: the ROM erases whole sectors, so it would erase what comes before', () => {
    expect(() => parseEsp32Profile({ driver: 'esp32', name: 'odd', chip: 'esp32', singleImageOffset: '0x10800', credentials: { nvsPartition: { offset: '0x9800', size: 20000 } } })).toThrow(
      /singleImageOffset: must be a multiple of 0x1000 \(a 4 KiB flash sector\); credentials\.nvsPartition\.offset: must be a multiple of 0x1000 \(a 4 KiB flash sector\); credentials\.nvsPartition\.size: must be a multiple of 0x1000/,
    );
  });
});

describe('reset sequences', () => {
  it('drive the lines step by step and wait between them', async () => {
    const [station] = createMemoryPortPair('sim://reset');
    const started = performance.now();
    await runResetSequence(station.control, RESET_SEQUENCES.classic);
    const calls = station.controlCalls;
    expect(calls.map((call) => (call.type === 'signals' ? [call.dtr, call.rts] : call.baudRate))).toEqual([
      [false, true],
      [false, true],
      [true, true],
      [true, false],
      [false, false],
    ]);
    // EN held low for 100 ms, IO0 held low 50 ms after EN rose.
    expect(calls[2]!.atMs - calls[1]!.atMs).toBeGreaterThanOrEqual(99);
    expect(calls[4]!.atMs - calls[3]!.atMs).toBeGreaterThanOrEqual(49);
    expect(performance.now() - started).toBeGreaterThanOrEqual(149);
  });

  it('stop when the step is cancelled', async () => {
    const [station] = createMemoryPortPair('sim://reset');
    const abort = new AbortController();
    const running = runResetSequence(station.control, RESET_SEQUENCES['usb-jtag-serial'], abort.signal);
    abort.abort();
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(station.controlCalls.length).toBeLessThan(RESET_SEQUENCES['usb-jtag-serial'].length);
  });
});
