import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineConfigSchema, lineSlots, loadLineConfig, portFor, scannerPorts } from '../../main/core/config/line-config.ts';
import { resolveSecret } from '../../main/core/secret-ref.ts';
import { ConfigError } from '../../main/core/errors.ts';

function write(config: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'line-')), 'line.json');
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}

describe('line configuration', () => {
  it('accepts the minimal file and fills the defaults', async () => {
    const config = await loadLineConfig(write({ cloud: { backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080' }, device: { profile: 'reference' }, ports: ['/dev/pts/5'] }));
    expect(config).toMatchObject({
      cloud: { backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080', allowInsecureHttp: false },
      device: { profile: 'reference' },
      ports: ['/dev/pts/5'],
      autoStart: true,
      firmware: { source: 'cloud' },
      concurrency: { ports: 32, downloads: 2, cloudCalls: 8 },
    });
  });

  it('takes explicit ports of every kind and USB auto-detect entries', () => {
    const parsed = lineConfigSchema.parse({
      cloud: { backend: 'exosite', vendor: 'acme', model: 'therm' },
      ports: ['/dev/ttyACM0', 'COM3', 'tcp://10.0.0.5:4001', { vendorId: '303a', productId: '1001' }, { vendorId: '0403' }],
      thingNameTemplate: 'ThermometerDevice-{serial}',
    });
    expect(parsed.ports).toHaveLength(5);
    expect(parsed.cloud).toMatchObject({ url: 'https://m2.exosite.com', versionAlias: 'fw_version' });
  });

  it('names each bad field', async () => {
    const error = await loadLineConfig(
      write({ cloud: { backend: 'gadgetkeeper', url: 'not a url' }, ports: [{ vendorId: 'xyz' }], thingNameTemplate: 'T-{mac}', colour: 1 }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('cloud.url');
    expect(message).toContain('ports.0');
    expect(message).toContain('thingNameTemplate: the only placeholder is {serial}');
    expect(message).toMatch(/colour/);
  });

  it('names an unknown backend and a Fleet Freedom line without a pinned firmware file', () => {
    expect(lineConfigSchema.safeParse({ cloud: { backend: 'aws', url: 'https://x' } }).success).toBe(false);
    const result = lineConfigSchema.safeParse({ cloud: { backend: 'fleetfreedom', username: 'u', password: { env: 'FF_PASSWORD' }, company: 1, providerKind: 'json' } });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('Fleet Freedom serves no firmware');
  });

  it('says when the file is not JSON', async () => {
    await expect(loadLineConfig(write('{ cloud: '))).rejects.toThrow(/line configuration .*line.json is not valid JSON/);
  });

  it('resolves secrets from the environment or a file, naming the field and never the value', async () => {
    expect(await resolveSecret({ env: 'FF_PASSWORD' }, 'cloud.password', { FF_PASSWORD: 'pw' })).toBe('pw');
    await expect(resolveSecret({ env: 'FF_PASSWORD' }, 'cloud.password', {})).rejects.toThrow('cloud.password: the environment variable FF_PASSWORD is not set');
    const file = write('s3cret\n');
    expect(await resolveSecret({ file }, 'cloud.password')).toBe('s3cret');
    await expect(resolveSecret({ file: '/nonexistent' }, 'cloud.password')).rejects.toThrow(/cloud.password: the secret file \/nonexistent could not be read \(ENOENT\)/);
  });

  it('a port with the role scanner is a serial barcode scanner, not a unit\'s port; what it serves must be on the line', () => {
    const cloud = { backend: 'gadgetkeeper', url: 'http://127.0.0.1:8080' };
    const config = lineConfigSchema.parse({ cloud, ports: ['/dev/ttyACM0', { path: '/dev/ttyACM1', slot: 'A3' }, { path: '/dev/ttyACM9', role: 'scanner', for: 'A3' }, { path: '/dev/ttyUSB9', role: 'scanner' }] });
    expect(lineSlots(config.ports)).toEqual([
      { path: '/dev/ttyACM0', slot: '1' },
      { path: '/dev/ttyACM1', slot: 'A3' },
    ]);
    expect(scannerPorts(config.ports)).toEqual([
      { path: '/dev/ttyACM9', role: 'scanner', for: 'A3', baudRate: 9600 },
      { path: '/dev/ttyUSB9', role: 'scanner', baudRate: 9600 },
    ]);
    expect(portFor(config.ports, 'A3')).toBe('/dev/ttyACM1');
    const issues = (ports: unknown[]) => JSON.stringify(lineConfigSchema.safeParse({ cloud, ports }).error?.issues ?? []);
    expect(issues(['/dev/ttyACM0', { path: '/dev/ttyACM9', role: 'scanner', for: 'B7' }])).toContain('the scanner serves \\"B7\\", which is no slot or port of this line');
    expect(issues(['/dev/ttyACM0', { path: '/dev/ttyACM0', role: 'scanner' }])).toContain('port /dev/ttyACM0 is listed twice');
    expect(issues([{ path: '/dev/ttyACM9', role: 'scanner', slot: 'A1' }])).not.toBe('[]');
  });
});
