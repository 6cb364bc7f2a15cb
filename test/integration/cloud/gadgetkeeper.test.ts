import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudError } from '../../../main/core/cloud/cloud-error.ts';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator, type GadgetKeeperSeed } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { ConfigError } from '../../../main/core/errors.ts';

const SERIAL = 'THERM00000000000042';
const seed = (firmwareEncoding: 'base64-json' | 'octet-stream' = 'base64-json', size = 64 * 1024): GadgetKeeperSeed => ({
  firmwareEncoding,
  products: [
    {
      name: 'Thermometer',
      serialNumbers: [SERIAL, 'THERM00000000000043'],
      versions: [
        { name: '1.0.0', firmware: { size: 1000 } },
        { name: '1.1.0', description: 'current release', firmware: { size } },
      ],
    },
  ],
});
const fastRetry = { attempts: 3, baseDelayMs: 10, maxDelayMs: 2000 };

describe('GadgetKeeper adapter against its emulator', () => {
  let emulator: GadgetKeeperEmulator;
  let adapter: GadgetKeeperAdapter;
  const start = async (s = seed(), timeoutMs = 5000) => {
    emulator = await startGadgetKeeperEmulator(s);
    adapter = new GadgetKeeperAdapter({ baseUrl: emulator.url, retry: fastRetry, timeoutMs });
  };
  beforeEach(() => start());
  afterEach(() => emulator.stop());

  it('activates a serial number into a new thing with a 32-hex id and key', async () => {
    const credentials = await adapter.activate(SERIAL);
    expect(credentials.thingId).toMatch(/^[0-9a-f]{32}$/);
    expect(credentials.apiKey).toMatch(/^[0-9a-f]{32}$/);
    expect(emulator.state.thingsBySerial.get(SERIAL)?.name).toBe('Thermometer 1');
  });

  it('activating again keeps the thing, issues a new key and revokes the old one (401)', async () => {
    const first = await adapter.activate(SERIAL);
    const second = await adapter.activate(SERIAL);
    expect(second.thingId).toBe(first.thingId);
    expect(second.apiKey).not.toBe(first.apiKey);
    const error = (await adapter.rename(first, 'x').catch((e: unknown) => e)) as CloudError;
    expect(error).toMatchObject({ failure: 'unauthorized', status: 401, retryable: false });
    expect(error.describe()).toContain('refused the api key of thing');
    expect(error.describe()).not.toContain(first.apiKey);
    await adapter.rename(second, 'ok');
  });

  it('says plainly when a serial number is not registered, and does not retry', async () => {
    const error = (await adapter.activate('THERM99999999999999').catch((e: unknown) => e)) as CloudError;
    expect(error).toBeInstanceOf(CloudError);
    expect(error.message).toBe('serial number THERM99999999999999 is not registered with this product (GadgetKeeper answered 404)');
    expect(error.retryable).toBe(false);
    expect(emulator.calls.get('activate')).toBe(1);
  });

  it('renames, reads the target version, and confirms the installed version', async () => {
    const credentials = await adapter.activate(SERIAL);
    await adapter.rename(credentials, `ThermometerDevice-${SERIAL}`);
    expect(emulator.state.thingsBySerial.get(SERIAL)?.name).toBe(`ThermometerDevice-${SERIAL}`);
    const target = await adapter.targetVersion(credentials);
    expect(target).toMatchObject({ name: '1.1.0', description: 'current release' });
    expect(emulator.state.thingsBySerial.get(SERIAL)?.currentVersionId).toBeUndefined();
    await adapter.confirmVersion(credentials, target.id);
    expect(emulator.state.thingsBySerial.get(SERIAL)?.currentVersionId).toBe(target.id);
  });

  it('refuses to confirm a version the thing does not have', async () => {
    const credentials = await adapter.activate(SERIAL);
    await expect(adapter.confirmVersion(credentials, '0'.repeat(32))).rejects.toMatchObject({ status: 400, retryable: false });
  });

  for (const encoding of ['base64-json', 'octet-stream'] as const) {
    it(`downloads firmware sent as ${encoding}, streamed to disk with progress and its SHA-256`, async () => {
      await emulator.stop();
      await start(seed(encoding, 8 * 1024 * 1024));
      const credentials = await adapter.activate(SERIAL);
      const target = await adapter.targetVersion(credentials);
      const destination = join(mkdtempSync(join(tmpdir(), 'gk-')), 'fw.bin');
      const progress: number[] = [];
      const result = await adapter.downloadFirmware(credentials, target, { destination, onProgress: (p) => progress.push(p.bytesDone) });
      const expected = emulator.state.version(emulator.state.thingsBySerial.get(SERIAL)!, target.id)!.firmware;
      expect(result.size).toBe(8 * 1024 * 1024);
      expect(result.sha256).toBe(createHash('sha256').update(expected).digest('hex'));
      expect(readFileSync(destination).equals(expected)).toBe(true);
      expect(progress.length).toBeGreaterThan(1);
    });
  }

  it('restarts cleanly after a connection reset halfway through an 8 MiB download', async () => {
    await emulator.stop();
    await start(seed('octet-stream', 8 * 1024 * 1024));
    const credentials = await adapter.activate(SERIAL);
    const target = await adapter.targetVersion(credentials);
    emulator.addFault({ step: 'download', kind: 'reset-mid-body' });
    const destination = join(mkdtempSync(join(tmpdir(), 'gk-')), 'fw.bin');
    const result = await adapter.downloadFirmware(credentials, target, { destination });
    const expected = emulator.state.version(emulator.state.thingsBySerial.get(SERIAL)!, target.id)!.firmware;
    expect(result.sha256).toBe(createHash('sha256').update(expected).digest('hex'));
    expect(emulator.calls.get('download')).toBe(2);
    expect(existsSync(`${destination}.part`)).toBe(false);
  });

  it('rejects a damaged firmware body with a clear error and leaves no file behind', async () => {
    const credentials = await adapter.activate(SERIAL);
    const target = await adapter.targetVersion(credentials);
    emulator.addFault({ step: 'download', kind: 'garbage-body', times: 3 });
    const destination = join(mkdtempSync(join(tmpdir(), 'gk-')), 'fw.bin');
    const error = (await adapter.downloadFirmware(credentials, target, { destination }).catch((e: unknown) => e)) as CloudError;
    expect(error.failure).toBe('invalid-response');
    expect(error.message).toMatch(/neither JSON nor application\/octet-stream|not valid base64/);
    expect(existsSync(destination) || existsSync(`${destination}.part`)).toBe(false);
  });

  it('rejects a body cut short every time, after the allowed attempts', async () => {
    await emulator.stop();
    await start(seed('octet-stream', 1024 * 1024));
    const credentials = await adapter.activate(SERIAL);
    const target = await adapter.targetVersion(credentials);
    emulator.addFault({ step: 'download', kind: 'reset-mid-body', times: 3 });
    const destination = join(mkdtempSync(join(tmpdir(), 'gk-')), 'fw.bin');
    const error = (await adapter.downloadFirmware(credentials, target, { destination }).catch((e: unknown) => e)) as CloudError;
    expect(error).toBeInstanceOf(CloudError);
    expect(['network', 'invalid-response']).toContain(error.failure);
    expect(emulator.calls.get('download')).toBe(3);
  });

  it('retries a 5xx on a safe call with exponential backoff: each wait at least half its doubling step', async () => {
    // base 250 ms: the policy waits 125-250 ms, then 250-500, then 500-1000 (jitter in the upper half).
    const slow = new GadgetKeeperAdapter({ baseUrl: emulator.url, retry: { attempts: 4, baseDelayMs: 250, maxDelayMs: 10_000 } });
    const credentials = await slow.activate(SERIAL);
    emulator.addFault({ step: 'target-version', kind: 'status', status: 503, times: 3 });
    // When each attempt reached the emulator (it counts calls in this Map as it routes them).
    const arrivals: number[] = [];
    const count = emulator.calls.set.bind(emulator.calls);
    emulator.calls.set = (step, n) => {
      if (step === 'target-version') arrivals.push(performance.now());
      return count(step, n);
    };
    await slow.targetVersion(credentials);
    expect(arrivals).toHaveLength(4);
    const waits = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
    expect(waits[0]).toBeGreaterThanOrEqual(120);
    expect(waits[1]).toBeGreaterThanOrEqual(245);
    expect(waits[2]).toBeGreaterThanOrEqual(495);
    // Growing, not constant: the third wait is at least 250 ms longer than the first before any scheduling noise.
    expect(waits[2]! - waits[0]!, waits.map(Math.round).join(', ')).toBeGreaterThanOrEqual(150);
    expect(waits[2]).toBeLessThan(3000);
  });

  it('honours Retry-After on 429', async () => {
    const credentials = await adapter.activate(SERIAL);
    emulator.addFault({ step: 'rename', kind: 'status', status: 429, retryAfterSeconds: 1 });
    const started = performance.now();
    await adapter.rename(credentials, 'n');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(emulator.calls.get('rename')).toBe(2);
  });

  it('hands a long Retry-After back to the caller instead of sleeping on it', async () => {
    const credentials = await adapter.activate(SERIAL);
    emulator.addFault({ step: 'rename', kind: 'status', status: 429, retryAfterSeconds: 300 });
    const error = (await adapter.rename(credentials, 'n').catch((e: unknown) => e)) as CloudError;
    expect(error).toMatchObject({ failure: 'rate-limited', retryable: true, retryAfterMs: 300_000 });
  });

  it('times out a call that is never answered, with latency below the limit still fine', async () => {
    await emulator.stop();
    await start(seed(), 300);
    const credentials = await adapter.activate(SERIAL);
    emulator.addFault({ step: 'target-version', kind: 'latency', ms: 100 });
    await adapter.targetVersion(credentials);
    emulator.addFault({ step: 'target-version', kind: 'no-answer', times: 7 });
    const error = (await adapter.targetVersion(credentials).catch((e: unknown) => e)) as CloudError;
    expect(error).toMatchObject({ failure: 'timeout', retryable: true });
    expect(error.message).toBe('GadgetKeeper did not answer within 300 ms');
  });

  it('never retries an activation whose answer was lost: the key it issued would be revoked', async () => {
    emulator.addFault({ step: 'activate', kind: 'drop-after-effect' });
    const error = (await adapter.activate(SERIAL).catch((e: unknown) => e)) as CloudError;
    expect(error).toBeInstanceOf(CloudError);
    expect(error.outcomeUnknown).toBe(true);
    expect(emulator.calls.get('activate')).toBe(1);
    // The cloud did issue a key that the station never saw.
    expect(emulator.state.thingsBySerial.get(SERIAL)?.issuedKeys).toHaveLength(1);
    expect(adapter.steps.activate).toEqual({ retrySafe: false, replaySafe: true });
  });

  it('accepts the product key header on activation when configured', async () => {
    const keyed = new GadgetKeeperAdapter({ baseUrl: emulator.url, productKey: 'p'.repeat(32) });
    expect((await keyed.activate(SERIAL)).thingId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('uses configurable path templates', async () => {
    const custom = new GadgetKeeperAdapter({ baseUrl: emulator.url, paths: { activate: '/v2/activate/{serialNumber}' } });
    const error = (await custom.activate(SERIAL).catch((e: unknown) => e)) as CloudError;
    expect(error.status).toBe(404);
    expect(emulator.calls.get('unknown')).toBe(1);
  });
});

describe('cloud URL policy', () => {
  it('refuses plain http to a non-loopback host unless allowed on purpose', () => {
    expect(() => new GadgetKeeperAdapter({ baseUrl: 'http://api.gadgetkeeper.com' })).toThrow(ConfigError);
    expect(() => new GadgetKeeperAdapter({ baseUrl: 'http://api.gadgetkeeper.com', allowInsecureHttp: true })).not.toThrow();
    expect(() => new GadgetKeeperAdapter({ baseUrl: 'https://api.gadgetkeeper.com' })).not.toThrow();
    expect(() => new GadgetKeeperAdapter({ baseUrl: 'http://127.0.0.1:8080' })).not.toThrow();
    expect(() => new GadgetKeeperAdapter({ baseUrl: 'ftp://x' })).toThrow(/must start with https:/);
  });
});
