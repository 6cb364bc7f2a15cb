import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ROM_COMMAND, romChecksum, type RomRequest } from '../../../main/core/devices/esp32/rom-protocol.ts';
import { bootFromFlash } from '../../../main/core/simulator/esp32/application.ts';
import { CHIP_MODELS } from '../../../main/core/simulator/esp32/chip-models.ts';
import { ChipRegisters } from '../../../main/core/simulator/esp32/chip-registers.ts';
import { buildDemoFirmware, partitionTable } from '../../../main/core/simulator/esp32/demo-firmware.ts';
import { REALISTIC_FLASH, RomLoader } from '../../../main/core/simulator/esp32/rom-loader.ts';
import { SpiFlash } from '../../../main/core/simulator/esp32/spi-flash.ts';

const words = (...values: number[]) => {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => out.writeUInt32LE(value, i * 4));
  return out;
};

describe('what the simulated chip boots from its flash', () => {
  const model = CHIP_MODELS.esp32;

  it('prints the ROM loop on blank flash, the bootloader error on a bad table, and the app version when all is well', () => {
    const blank = new SpiFlash(4 << 20);
    expect(bootFromFlash(model, blank)).toMatchObject({ version: undefined, lines: expect.arrayContaining(['invalid header: 0xffffffff']) });

    const build = buildDemoFirmware({ chip: 'esp32', version: '7.0.0-rc1' });
    const flash = new SpiFlash(4 << 20);
    for (const part of build.parts) flash.bytes.set(part.data, part.offset);
    const good = bootFromFlash(model, flash, ['I (400) main: hello']);
    expect(good.version).toBe('7.0.0-rc1');
    expect(good.lines).toEqual(expect.arrayContaining(['I (329) app_init: App version:      7.0.0-rc1', 'I (400) main: hello']));

    flash.bytes.set(partitionTable([{ label: 'nvs', type: 1, subtype: 2, offset: 0x9000, size: 0x6000 }]).map((byte, i) => (i === 5 ? byte ^ 1 : byte)), 0x8000);
    expect(bootFromFlash(model, flash).lines.at(-1)).toBe('E (56) boot: load partition table error!');
  });
});

describe('the simulated ROM loader', () => {
  function loader(waits: number[]) {
    const flash = new SpiFlash(4 << 20);
    const rom = new RomLoader({
      model: CHIP_MODELS.esp32s3,
      flash,
      registers: new ChipRegisters(CHIP_MODELS.esp32s3, new Uint8Array(6), 4 << 20),
      timing: REALISTIC_FLASH,
      wait: async (ms) => void waits.push(ms),
    });
    return { flash, rom };
  }
  const request = (op: number, data: Buffer, checksum = 0): RomRequest => ({ op, data, checksum });

  it('takes datasheet time to erase and program when asked to (for benchmarks), and writes what it inflates', async () => {
    const waits: number[] = [];
    const { flash, rom } = loader(waits);
    const image = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) & 0xff));
    const compressed = deflateSync(image, { level: 9 });
    const begin = await rom.handle(request(ROM_COMMAND.FLASH_DEFL_BEGIN, words(image.length, 1, 0x4000, 0x20000, 0)));
    expect(begin.responses[0]!.subarray(-4)).toEqual(Buffer.from([0, 0, 0, 0]));
    const block = Buffer.concat([words(compressed.length, 0, 0, 0), compressed]);
    await rom.handle(request(ROM_COMMAND.FLASH_DEFL_DATA, block, romChecksum(compressed)));
    expect(Buffer.from(flash.read(0x20000, image.length)).equals(image)).toBe(true);
    const total = waits.reduce((sum, ms) => sum + ms, 0);
    expect(total).toBeCloseTo(64 * (REALISTIC_FLASH.eraseMsPerKiB + REALISTIC_FLASH.programMsPerKiB), 5);
  });

  it('answers a bad checksum, a wrong sequence number and an unaligned erase with the ROM error codes', async () => {
    const { rom } = loader([]);
    const status = (reply: { responses: Buffer[] }) => [...reply.responses[0]!.subarray(-4, -2)];
    expect(status(await rom.handle(request(ROM_COMMAND.FLASH_BEGIN, words(0x1000, 1, 0x400, 0x1800, 0))))).toEqual([1, 0x05]);
    await rom.handle(request(ROM_COMMAND.FLASH_BEGIN, words(0x1000, 4, 0x400, 0x1000, 0)));
    const payload = Buffer.alloc(0x400, 0x5a);
    expect(status(await rom.handle(request(ROM_COMMAND.FLASH_DATA, Buffer.concat([words(0x400, 0, 0, 0), payload]), 0x00)))).toEqual([1, 0x07]);
    expect(status(await rom.handle(request(ROM_COMMAND.FLASH_DATA, Buffer.concat([words(0x400, 3, 0, 0), payload]), romChecksum(payload))))).toEqual([1, 0x05]);
    expect(status(await rom.handle(request(ROM_COMMAND.FLASH_DATA, Buffer.concat([words(0x400, 0, 0, 0), payload]), romChecksum(payload))))).toEqual([0, 0]);
  });
});
