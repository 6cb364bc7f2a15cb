import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SettingsInput } from '../../contract/station-contract.ts';
import { storeInput, toLineConfig, type LineSettings } from '../../main/core/desk/desk-settings.ts';
import { FirmwareUploads, safeFirmwareName } from '../../main/core/desk/firmware-uploads.ts';
import { loadStationPolicy, type StationPolicy } from '../../main/core/desk/station-policy.ts';
import { describeError } from '../../main/core/errors.ts';
import { SecretBox } from '../../main/core/storage/secret-box.ts';

const KEY = 'pk-product-key-of-the-real-cloud-0001';

/** What the screen shows of a refusal: the message and what to do. */
function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return describeError(error);
  }
  return 'accepted';
}

describe('settings from a screen, held to the station policy', () => {
  let dataDir: string;
  let policy: StationPolicy;
  const box = new SecretBox(randomBytes(32));
  const gadgetkeeper = (url: string, extra: Partial<SettingsInput> = {}): SettingsInput => ({ backend: 'gadgetkeeper', url, fields: {}, ports: ['/dev/ttyACM0'], autoStart: false, ...extra });
  const fleetfreedom = (extra: Partial<SettingsInput> = {}): SettingsInput => ({
    backend: 'fleetfreedom',
    url: 'wss://socket.fleetfreedom.com',
    fields: { username: 'line-7', company: '12', providerKind: 'json', firmwareVersion: 'v1.2.0' },
    secret: 'ff-password',
    ports: ['/dev/ttyACM0'],
    autoStart: false,
    ...extra,
  });

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'policy-'));
    writeFileSync(join(dataDir, 'station.key'), randomBytes(32), { mode: 0o600 });
    policy = loadStationPolicy(dataDir);
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  describe('the stored cloud secret goes only where it was entered for', () => {
    let saved: LineSettings;
    beforeEach(() => {
      saved = storeInput(gadgetkeeper('https://api.gadgetkeeper.example/v1', { secret: KEY }), undefined, box, policy);
    });

    it('a new address at another origin needs the secret typed again; the same origin keeps it', () => {
      for (const url of ['https://attacker.example/v1', 'http://api.gadgetkeeper.example/v1', 'https://api.gadgetkeeper.example:8443/v1']) {
        expect(refusal(() => storeInput(gadgetkeeper(url), saved, box, policy)), url).toMatch(/cloud moved .*Type the product key for the new address again/);
      }
      const moved = storeInput(gadgetkeeper('https://other-cloud.example/v1', { secret: 'pk-another-key' }), saved, box, policy);
      expect(toLineConfig(moved, box, policy).cloud).toMatchObject({ productKey: 'pk-another-key' });
      const samePlace = storeInput(gadgetkeeper('https://api.gadgetkeeper.example/v2'), saved, box, policy);
      expect(samePlace.sealedSecret).toBe(saved.sealedSecret);
    });

    it('another backend does not inherit it', () => {
      const exosite = storeInput({ backend: 'exosite', url: 'https://api.gadgetkeeper.example/v1', fields: { vendor: 'acme', model: 'therm' }, ports: [], autoStart: false }, saved, box, policy);
      expect(exosite.sealedSecret).toBeUndefined();
      expect(refusal(() => storeInput(fleetfreedom({ url: 'https://api.gadgetkeeper.example/v1', secret: undefined }), saved, box, policy))).toMatch(/Type the password/);
    });
  });

  describe('firmware only from the firmware folder', () => {
    beforeEach(() => {
      mkdirSync(policy.firmwareFolder);
      writeFileSync(join(policy.firmwareFolder, 'therm-1.2.0.bin'), Buffer.alloc(1000, 7));
    });

    it('a file in the folder, by name, is used by its real path', () => {
      const stored = storeInput(fleetfreedom({ fields: { ...fleetfreedom().fields, firmwarePath: 'therm-1.2.0.bin' } }), undefined, box, policy);
      expect(toLineConfig(stored, box, policy).firmware).toEqual({ source: 'file', path: realpathSync(join(policy.firmwareFolder, 'therm-1.2.0.bin')), versionId: 'v1.2.0' });
    });

    it('the station key, any file outside, a way out with .., or a link out of the folder is refused', () => {
      symlinkSync(join(dataDir, 'station.key'), join(policy.firmwareFolder, 'innocent.bin'));
      for (const firmwarePath of [join(dataDir, 'station.key'), '../station.key', '/etc/passwd', 'innocent.bin', '.', 'missing.bin']) {
        expect(() => storeInput(fleetfreedom({ fields: { ...fleetfreedom().fields, firmwarePath } }), undefined, box, policy), firmwarePath).toThrow(/Firmware file .*(outside|not in|not a file)/);
      }
    });

    it('settings stored before are checked again when the line opens', () => {
      const stored: LineSettings = { backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080', fields: { firmwarePath: join(dataDir, 'station.key'), firmwareVersion: 'v1' }, ports: [], autoStart: false };
      expect(() => toLineConfig(stored, box, policy)).toThrow(/Firmware file .*outside the firmware folder/);
    });
  });

  describe('ports', () => {
    it('a tcp:// port only when the station policy lists it', () => {
      expect(() => storeInput(gadgetkeeper('http://127.0.0.1:8080', { ports: ['tcp://127.0.0.1:4001'] }), undefined, box, policy)).toThrow(/Port tcp:\/\/127.0.0.1:4001 is not one of the tcp:\/\/ ports .*tcpPorts/);
      writeFileSync(join(dataDir, 'station-policy.json'), JSON.stringify({ tcpPorts: ['tcp://127.0.0.1:4001'] }));
      const allowing = loadStationPolicy(dataDir);
      expect(storeInput(gadgetkeeper('http://127.0.0.1:8080', { ports: ['TCP://127.0.0.1:4001'] }), undefined, box, allowing).ports).toEqual(['TCP://127.0.0.1:4001']);
    });

    it('a file is not a serial port; a device not plugged in yet is', () => {
      for (const port of [join(dataDir, 'station.key'), 'relative/tty', '/tmp/not-a-device-yet']) {
        expect(() => storeInput(gadgetkeeper('http://127.0.0.1:8080', { ports: [port] }), undefined, box, policy), port).toThrow(/Port .*(not a serial|does not exist)/);
      }
      expect(storeInput(gadgetkeeper('http://127.0.0.1:8080', { ports: ['/dev/ttyACM7'] }), undefined, box, policy).ports).toHaveLength(1);
    });

    it('a memory device or a pty is refused on the ports field, with what to do', () => {
      const problems = (ports: string[]) => {
        try {
          storeInput(gadgetkeeper('http://127.0.0.1:8080', { ports }), undefined, box, policy);
        } catch (error) {
          return (error as { problems?: Array<{ field: string; message: string }> }).problems ?? [];
        }
        return [];
      };
      expect(problems(['/dev/ttyACM7', '/dev/null', '/dev/pts/4093'])).toEqual([
        expect.objectContaining({ field: 'ports', message: expect.stringMatching(/^Port \/dev\/null is a memory device .*which a screen may not name\. Name a serial port/) }),
        expect.objectContaining({ field: 'ports', message: expect.stringMatching(/^Port \/dev\/pts\/4093 is a pseudo-terminal .*set "pseudoTerminals": true in the station policy file/) }),
      ]);
    });
  });

  describe('the station policy file', () => {
    it('names the wrong field', () => {
      writeFileSync(join(dataDir, 'station-policy.json'), JSON.stringify({ tcpPorts: ['10.0.0.5:4001'], allowedHosts: ['http://evil'] }));
      expect(() => loadStationPolicy(dataDir)).toThrow(/tcpPorts\.0: must be tcp:\/\/host:port.*allowedHosts\.0/);
      writeFileSync(join(dataDir, 'station-policy.json'), JSON.stringify({ firmwarePath: '/x' }));
      expect(() => loadStationPolicy(dataDir)).toThrow(/station-policy.json is invalid: .*firmwarePath/);
    });

    it('refuses a firmware folder that holds the key or the policy', () => {
      writeFileSync(join(dataDir, 'station-policy.json'), JSON.stringify({ firmwareFolder: '.' }));
      expect(() => loadStationPolicy(dataDir)).toThrow(/firmwareFolder: .* holds the data folder/);
      writeFileSync(join(dataDir, 'station-policy.json'), JSON.stringify({ firmwareFolder: '/' }));
      expect(() => loadStationPolicy(dataDir)).toThrow(/firmwareFolder/);
    });

    it('a policy file given but missing is an error; none at the default place means the defaults', () => {
      expect(() => loadStationPolicy(dataDir, join(dataDir, 'nope.json'))).toThrow(/could not be read \(ENOENT\)/);
      expect(policy).toMatchObject({ tcpPorts: [], firmwareFolder: join(dataDir, 'firmware-files'), allowedHosts: [] });
    });
  });
});

describe('firmware uploads from a screen', () => {
  let dataDir: string;
  let policy: StationPolicy;
  let uploads: FirmwareUploads;
  let clock = 0;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'uploads-'));
    writeFileSync(join(dataDir, 'station-policy.json'), JSON.stringify({ maxFirmwareBytes: 100_000 }));
    policy = loadStationPolicy(dataDir);
    uploads = new FirmwareUploads(policy, { idleMs: 1000, now: () => clock });
  });
  afterEach(async () => {
    await uploads.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const send = async (name: string, data: Buffer, chunkBytes = 30_000) => {
    const { upload, name: stored } = await uploads.start({ name, size: data.length });
    let last;
    for (let offset = 0; offset < data.length; offset += chunkBytes) last = await uploads.chunk({ upload, offset, data: data.subarray(offset, offset + chunkBytes).toString('base64') });
    return { stored, last };
  };

  it('stores a chunked file under a safe name in the firmware folder, with its hash', async () => {
    const image = randomBytes(95_000);
    const { stored, last } = await send('../../.bashrc v1?.bin', image);
    expect(stored).toBe('bashrc_v1_.bin');
    expect(last).toMatchObject({ done: true, received: 95_000, name: 'bashrc_v1_.bin' });
    expect(readFileSync(join(policy.firmwareFolder, stored)).equals(image)).toBe(true);
    expect(readdirSync(policy.firmwareFolder)).toEqual(['bashrc_v1_.bin']);
    expect(safeFirmwareName('..')).toBe('firmware.bin');
  });

  it('refuses a file over the limit, a chunk out of order or past the size, and never replaces another file', async () => {
    await expect(uploads.start({ name: 'big.bin', size: 100_001 })).rejects.toThrow(/allows at most 100000 \(maxFirmwareBytes\)/);
    const { upload } = await uploads.start({ name: 'a.bin', size: 10 });
    await expect(uploads.chunk({ upload, offset: 5, data: Buffer.alloc(5).toString('base64') })).rejects.toThrow(/at byte 5, expected byte 0/);
    // A refused chunk drops the upload and its partial file.
    await expect(uploads.chunk({ upload, offset: 0, data: Buffer.alloc(5).toString('base64') })).rejects.toThrow(/unknown, finished, failed or expired/);
    const second = await uploads.start({ name: 'a.bin', size: 10 });
    await expect(uploads.chunk({ upload: second.upload, offset: 0, data: Buffer.alloc(11).toString('base64') })).rejects.toThrow(/more bytes than the 10 announced/);
    expect(readdirSync(policy.firmwareFolder)).toEqual([]);

    await send('same.bin', Buffer.alloc(10, 1));
    await expect(send('same.bin', Buffer.alloc(10, 1))).resolves.toMatchObject({ last: { done: true } });
    await expect(send('same.bin', Buffer.alloc(10, 2))).rejects.toThrow(/a different file of that name is already in the firmware folder/);
    expect(readFileSync(join(policy.firmwareFolder, 'same.bin'))).toEqual(Buffer.alloc(10, 1));
  });

  it('drops an upload that went quiet, with its partial file, and bounds uploads under way', async () => {
    const first = await uploads.start({ name: 'slow.bin', size: 100 });
    await uploads.start({ name: 'other.bin', size: 100 });
    await expect(uploads.start({ name: 'third.bin', size: 100 })).rejects.toThrow(/2 uploads are already under way/);
    await uploads.chunk({ upload: first.upload, offset: 0, data: Buffer.alloc(50).toString('base64') });
    expect(readdirSync(policy.firmwareFolder).filter((name) => name.endsWith('.part'))).toHaveLength(2);
    clock += 5000;
    await expect.poll(() => readdirSync(policy.firmwareFolder), { timeout: 5000 }).toEqual([]);
    await expect(uploads.chunk({ upload: first.upload, offset: 50, data: Buffer.alloc(50).toString('base64') })).rejects.toThrow(/expired/);
    expect(existsSync(join(policy.firmwareFolder, 'slow.bin'))).toBe(false);
  });
});

describe('label settings from a screen', () => {
  const box = new SecretBox(randomBytes(32));
  let dataDir: string;
  const line = (labels: SettingsInput['labels']): SettingsInput => ({ backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080', fields: {}, ports: ['/dev/ttyACM0'], autoStart: false, labels });
  const problems = (action: () => unknown) => {
    try {
      action();
    } catch (error) {
      return (error as { problems?: Array<{ field: string; message: string }> }).problems ?? [];
    }
    return [];
  };
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'label-settings-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('the check with its pattern, a CUPS queue or a raw printer the station policy lists, and a template become the line\'s labels', () => {
    writeFileSync(join(dataDir, 'station-policy.json'), JSON.stringify({ labelPrinters: ['tcp://10.0.0.9:9100'] }));
    const policy = loadStationPolicy(dataDir);
    const template = '^XA^FO10,10^FD{serial}^FS^XZ';
    const stored = storeInput(line({ check: true, pattern: ' /u/(?<serial>[A-Z0-9]+)$ ', printer: 'tcp://10.0.0.9:9100', template }), undefined, box, policy);
    expect(toLineConfig(stored, box, policy).labels).toEqual({
      check: { pattern: '/u/(?<serial>[A-Z0-9]+)$', timeoutSeconds: 120 },
      print: { printer: { kind: 'tcp', host: '10.0.0.9', port: 9100 }, template, timeoutSeconds: 10 },
    });
    expect(toLineConfig(storeInput(line({ check: false, printer: 'cups:zebra1' }), undefined, box, policy), box, policy).labels).toMatchObject({ print: { printer: { kind: 'cups', queue: 'zebra1' } } });
    // Saved without labels: the labels stay as they were.
    expect(storeInput({ ...line(undefined), autoStart: true }, stored, box, policy).labels).toEqual(stored.labels);
  });

  it('refuses a raw printer the policy does not list, a template without a printer, a bad pattern or template, each on its field', () => {
    const policy = loadStationPolicy(dataDir);
    expect(problems(() => storeInput(line({ check: false, printer: 'tcp://10.6.6.6:9100' }), undefined, box, policy))).toEqual([
      expect.objectContaining({ field: 'labelPrinter', message: expect.stringMatching(/Label printer tcp:\/\/10\.6\.6\.6:9100 is not one of the printers .*labelPrinters/) }),
    ]);
    expect(problems(() => storeInput(line({ check: false, template: '^XA^FD{serial}^FS^XZ' }), undefined, box, policy)).map((p) => p.field)).toEqual(['labelPrinter']);
    expect(problems(() => storeInput(line({ check: true, pattern: '(?<nope>x)' }), undefined, box, policy))).toEqual([expect.objectContaining({ field: 'labelPattern' })]);
    expect(problems(() => storeInput(line({ check: false, printer: 'cups:zebra1', template: '^XA^FD{apiKey}^FS^XZ' }), undefined, box, policy))).toEqual([
      expect.objectContaining({ field: 'labelTemplate', message: expect.stringContaining('unknown placeholder {apiKey}') }),
    ]);
  });
});
