import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudError } from '../../../main/core/cloud/cloud-error.ts';
import { startFleetFreedomEmulator, type FleetFreedomEmulator } from '../../../main/core/cloud/fleetfreedom/emulator.ts';
import { FleetFreedomAdapter, type FleetFreedomSettings } from '../../../main/core/cloud/fleetfreedom/adapter.ts';
import { ConfigError } from '../../../main/core/errors.ts';
import { until } from '../../helpers/until.ts';

const seed = {
  companies: [
    { id: 100, name: 'Acme Fleet' },
    { id: 200, name: 'Other Co' },
  ],
  users: [{ username: 'line1', password: 's3cret-pass', companies: [100] }],
};

describe('Fleet Freedom adapter against its emulator', () => {
  let emulator: FleetFreedomEmulator;
  const adapters: FleetFreedomAdapter[] = [];
  const adapter = (overrides: Partial<FleetFreedomSettings> = {}) => {
    const created = new FleetFreedomAdapter({
      url: emulator.url,
      username: 'line1',
      password: 's3cret-pass',
      company: 100,
      providerKind: 'json',
      requestTimeoutMs: 1000,
      reconnectBaseDelayMs: 20,
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 1000 },
      ...overrides,
    });
    adapters.push(created);
    return created;
  };
  beforeEach(async () => {
    emulator = await startFleetFreedomEmulator(seed, { connectionDelayMs: 150 });
  });
  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((a) => a.close()));
    await emulator.stop();
  });

  it('waits for connectionResponse, logs in, and adds a new provider without "v"', async () => {
    const saved: string[] = [];
    expect(await adapter({ onGhostId: (id) => saved.push(id) }).register('354000000000042')).toEqual({ alreadyRegistered: false });
    expect(emulator.providers.get('354000000000042')).toMatchObject({ company: 100, kind: 'json' });
    expect(emulator.created).toBe(1);
    const merge = emulator.received.find((r) => r.name === 'mergeProvider')!;
    expect(merge.body.provider).toEqual({ kind: 'json', company: 100, id: '354000000000042' });
    expect(typeof merge.body.reqId).toBe('number');
    expect(saved).toHaveLength(1);
  });

  it('a request made while the connection is still logging in waits for the login, and is never sent before it', async () => {
    // The login's answer is slow; the second registration is asked for once the login is on its way.
    emulator.addFault({ command: 'login', kind: 'latency', ms: 400 });
    const a = adapter({ retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } });
    const first = a.register('SN-FIRST');
    await until(() => emulator.received.some((r) => r.name === 'login'), 10_000);
    const second = a.register('SN-SECOND');
    const results = await Promise.allSettled([first, second]);
    expect(results).toEqual([
      { status: 'fulfilled', value: { alreadyRegistered: false } },
      { status: 'fulfilled', value: { alreadyRegistered: false } },
    ]);
    // One login for both, and both providers made under it: nothing went out unauthenticated (answered "not logged in").
    expect(emulator.calls.get('login')).toBe(1);
    expect(emulator.received.map((r) => r.name)).toEqual(['login', 'mergeProvider', 'mergeProvider']);
  });

  it('counts "already exists" as registered and never creates a provider twice', async () => {
    const a = adapter();
    await a.register('SN-1');
    expect(await a.register('SN-1')).toEqual({ alreadyRegistered: true });
    expect(emulator.created).toBe(1);
  });

  it('resumes a saved ghostId without logging in again', async () => {
    let ghostId: string | undefined;
    await adapter({ onGhostId: (id) => (ghostId = id) }).register('SN-2');
    await adapter({ ghostId }).register('SN-3');
    expect(emulator.calls.get('login')).toBe(1);
  });

  it('logs in again when the session expired', async () => {
    let ghostId: string | undefined;
    await adapter({ onGhostId: (id) => (ghostId = id) }).register('SN-4');
    emulator.expireSessions();
    await adapter({ ghostId }).register('SN-5');
    expect(emulator.calls.get('login')).toBe(2);
    expect(emulator.providers.has('SN-5')).toBe(true);
  });

  it('reconnects by itself after the connection drops', async () => {
    const a = adapter();
    await a.register('SN-6');
    emulator.expireSessions();
    await a.register('SN-7');
    expect(emulator.providers.has('SN-7')).toBe(true);
  });

  it('a lost mergeProvider answer is repeated safely: the duplicate counts as done, billed once', async () => {
    emulator.addFault({ command: 'mergeProvider', kind: 'drop-after-effect' });
    expect(await adapter().register('SN-8')).toEqual({ alreadyRegistered: true });
    expect(emulator.created).toBe(1);
    expect(emulator.calls.get('mergeProvider')).toBe(2);
  });

  it('times out an unanswered request and tries again', async () => {
    emulator.addFault({ command: 'mergeProvider', kind: 'no-answer' });
    expect(await adapter({ requestTimeoutMs: 200 }).register('SN-9')).toEqual({ alreadyRegistered: true });
    expect(emulator.created).toBe(1);
  });

  it('refuses bad credentials plainly and does not retry, without echoing the password', async () => {
    const error = (await adapter({ password: 'wrong-password' }).register('SN-10').catch((e: unknown) => e)) as CloudError;
    expect(error).toMatchObject({ failure: 'unauthorized', retryable: false });
    expect(error.describe()).toContain('refused the login of user line1');
    expect(error.describe()).not.toContain('wrong-password');
    expect(emulator.calls.get('login')).toBe(1);
  });

  it('names a missing company (28) and a company the user may not touch (5)', async () => {
    await expect(adapter({ company: 999 }).register('SN-11')).rejects.toThrow('company 999 does not exist in Fleet Freedom');
    await expect(adapter({ company: 200 }).register('SN-12')).rejects.toThrow('may not add providers to company 200');
    expect(emulator.created).toBe(0);
  });

  it('keeps an idle session alive with noop', async () => {
    const a = adapter({ keepAliveMs: 50 });
    await a.register('SN-13');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(emulator.calls.get('noop') ?? 0).toBeGreaterThanOrEqual(3);
  });

  it('a connection whose keep-alive goes unanswered (a dead link) is closed, and the next request opens a new one', async () => {
    // A TCP relay in front of the emulator: it can freeze a connection (both ends open, nothing forwarded), as a
    // link dropped by a NAT or a switch does, and it notes which connections the station closed.
    const target = new URL(emulator.url);
    const links: Array<{ station: net.Socket; cloud: net.Socket; frozen: boolean; closedByStation: boolean }> = [];
    const relay = net.createServer((station) => {
      const cloud = net.connect(Number(target.port), target.hostname);
      const link = { station, cloud, frozen: false, closedByStation: false };
      links.push(link);
      station.on('data', (chunk) => void (link.frozen || cloud.write(chunk)));
      cloud.on('data', (chunk) => void (link.frozen || station.write(chunk)));
      station.on('close', () => {
        link.closedByStation = !cloud.destroyed;
        cloud.destroy();
      });
      cloud.on('close', () => station.destroy());
      station.on('error', () => undefined);
      cloud.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const a = adapter({ url: `ws://127.0.0.1:${(relay.address() as net.AddressInfo).port}`, keepAliveMs: 100, requestTimeoutMs: 300 });
      await a.register('SN-20');
      expect(links).toHaveLength(1);
      links[0]!.frozen = true;
      await until(() => links[0]!.closedByStation, 10_000);
      await a.register('SN-21');
      expect(emulator.providers.has('SN-21')).toBe(true);
      expect(links).toHaveLength(2);
    } finally {
      for (const link of links) link.station.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('declares registration only, and has no other step method', () => {
    const a = adapter();
    expect(Object.keys(a.steps)).toEqual(['register']);
    expect(['activate', 'rename', 'targetVersion', 'downloadFirmware', 'confirmVersion'].filter((method) => method in a)).toEqual([]);
  });

  it('refuses ws:// to a remote host', () => {
    expect(() => adapter({ url: 'ws://socket.fleetfreedom.com' })).toThrow(ConfigError);
  });
});
