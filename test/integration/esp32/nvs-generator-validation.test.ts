import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildNvsPartition, type NvsNamespace } from '../../../main/core/devices/esp32/nvs-partition.ts';
import { NVS_GENERATOR_DIR, runPeer, writeTempFiles } from '../../helpers/peers.ts';

/** The same namespaces and strings as the CSV ESP-IDF's generator reads. */
function csvOf(namespaces: NvsNamespace[]): string {
  const quote = (text: string) => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const rows = ['key,type,encoding,value'];
  for (const namespace of namespaces) {
    rows.push(`${namespace.name},namespace,,`);
    for (const { key, value } of namespace.strings) rows.push(`${key},data,string,${quote(value)}`);
  }
  return `${rows.join('\n')}\n`;
}

/** What ESP-IDF's nvs_partition_gen (run as its own process, unmodified) makes of it. */
async function generated(namespaces: NvsNamespace[], size: number): Promise<Buffer> {
  const { dir, paths } = writeTempFiles([{ name: 'creds.csv', data: csvOf(namespaces) }]);
  dirs.push(dir);
  const output = join(dir, 'nvs.bin');
  const run = await runPeer(['-m', 'esp_idf_nvs_partition_gen', 'generate', paths[0]!, output, `0x${size.toString(16)}`], { cwd: NVS_GENERATOR_DIR });
  expect(run.code, run.stdout + run.stderr).toBe(0);
  return readFileSync(output);
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("the station's NVS image against ESP-IDF's NVS partition generator", () => {
  it('is the same bytes for the credentials a unit gets (one namespace, thingId and apiKey)', async () => {
    const namespaces: NvsNamespace[] = [
      { name: 'station', strings: [{ key: 'thingId', value: 'a3f1c2e4b5d6978812ab34cd56ef7890' }, { key: 'apiKey', value: 'k9J2mQ7xW4pL8vN3rT6yB1zC5hG0dF2s' }] },
    ];
    const ours = Buffer.from(buildNvsPartition(namespaces, 0x6000));
    const theirs = await generated(namespaces, 0x6000);
    expect(ours.length).toBe(0x6000);
    expect(ours.equals(theirs)).toBe(true);
  });

  it('is the same bytes when the strings spill onto a second page, with several namespaces and UTF-8 text', async () => {
    const long = (seed: number, length: number) => Array.from({ length }, (_, i) => String.fromCharCode(0x21 + ((seed * 31 + i * 7) % 90))).join('');
    const namespaces: NvsNamespace[] = [
      { name: 'station', strings: [{ key: 'thingId', value: 'T-0001' }, { key: 'apiKey', value: long(1, 700) }, { key: 'greeting', value: 'Grüße, Welt – ünïcödé' }] },
      { name: 'cloud', strings: Array.from({ length: 6 }, (_, i) => ({ key: `cert${i}`, value: long(i + 2, 600) })) },
      { name: 'empty', strings: [{ key: 'none', value: '' }] },
    ];
    const ours = Buffer.from(buildNvsPartition(namespaces, 0x5000));
    const theirs = await generated(namespaces, 0x5000);
    // Page 1 holds data, so page 0 was closed as FULL: both made the same decision.
    expect(theirs.readUInt32LE(0)).toBe(0xfffffffc);
    expect(ours.equals(theirs)).toBe(true);
  });

  it('makes the same choice at the exact end of a page (a string that would take its last slot goes to the next page)', async () => {
    // Namespace entry + 1 header + 124 data slots would end on slot 126: ESP-IDF moves the string to page 1.
    const namespaces: NvsNamespace[] = [{ name: 'station', strings: [{ key: 'blob', value: 'x'.repeat(124 * 32 - 1) }] }];
    const ours = Buffer.from(buildNvsPartition(namespaces, 0x4000));
    const theirs = await generated(namespaces, 0x4000);
    expect(theirs.readUInt32LE(0x1000)).toBe(0xfffffffe);
    expect(ours.equals(theirs)).toBe(true);
  });
});

describe('the NVS image refuses what NVS cannot hold, naming keys and never values', () => {
  const secret = 'S3CR3T-'.repeat(600);

  it('a value longer than a page, too small a partition, an over-long key', () => {
    expect(() => buildNvsPartition([{ name: 'station', strings: [{ key: 'apiKey', value: secret }] }], 0x6000)).toThrow(/key "apiKey" is 4201 bytes/);
    try {
      buildNvsPartition([{ name: 'station', strings: [{ key: 'apiKey', value: secret }] }], 0x6000);
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('S3CR3T');
    }
    expect(() => buildNvsPartition([{ name: 'station', strings: [] }], 0x2000)).toThrow(/8192 bytes is not usable/);
    expect(() => buildNvsPartition([{ name: 'station', strings: [{ key: 'a-key-of-16chars', value: 'x' }] }], 0x3000)).toThrow(/key "a-key-of-16chars" must be 1 to 15/);
    const many = Array.from({ length: 4 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(3000) }));
    expect(() => buildNvsPartition([{ name: 'station', strings: many }], 0x3000)).toThrow(/do not fit in the NVS partition/);
  });
});
