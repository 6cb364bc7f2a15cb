import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SettingsInput } from '../../contract/station-contract.ts';
import { GADGETKEEPER, GadgetKeeperAdapter } from '../../main/core/cloud/gadgetkeeper/adapter.ts';
import { checkBaseUrl, withoutUrlCredentials } from '../../main/core/cloud/http.ts';
import { FleetFreedomSession } from '../../main/core/cloud/fleetfreedom/session.ts';
import { loadLineConfig } from '../../main/core/config/line-config.ts';
import type { StoredSettings } from '../../main/core/desk/desk-settings.ts';
import { dispatch } from '../../main/core/desk/dispatch.ts';
import { StationDesk } from '../../main/core/desk/station-desk.ts';
import { ConfigError } from '../../main/core/errors.ts';

const desks: StationDesk[] = [];
afterEach(async () => {
  for (const desk of desks.splice(0)) await desk.close(0);
});

function desk(stored?: StoredSettings): StationDesk {
  const dataDir = mkdtempSync(join(tmpdir(), 'url-credentials-'));
  let settings = stored;
  const created = new StationDesk({ dataDir, settings: { read: () => settings, write: (next) => (settings = next) }, secretKey: randomBytes(32) });
  desks.push(created);
  return created;
}

const screens: Array<[string, SettingsInput, RegExp]> = [
  ['gadgetkeeper', { backend: 'gadgetkeeper', url: 'https://line:hunter2@api.gadgetkeeper.com', fields: {}, ports: [], autoStart: false }, /Product key field/],
  ['fleetfreedom', { backend: 'fleetfreedom', url: 'wss://line:hunter2@socket.fleetfreedom.com', fields: { username: 'line', company: '7', providerKind: 'json', firmwarePath: '', firmwareVersion: '' }, secret: 'pw', ports: [], autoStart: false }, /Password field/],
  ['exosite', { backend: 'exosite', url: 'https://hunter2@m2.exosite.com', fields: { vendor: 'acme', model: 'therm' }, ports: [], autoStart: false }, /Exosite takes none/],
];

describe('a cloud URL with a user name or password in it', () => {
  for (const [backend, input, where] of screens) {
    it(`is refused from a screen (${backend}), on the URL field, saying where the secret belongs; nothing is stored`, async () => {
      const station = desk();
      const checked = await dispatch(station, 'checkSettings', [input]);
      expect(checked.ok).toBe(true);
      const problems = (checked as { value: Array<{ field: string; message: string }> }).value;
      const url = problems.find((problem) => problem.field === 'url');
      expect(url?.message).toMatch(/must not hold a user name or password/);
      expect(url?.message).toMatch(where);
      expect(url?.message).not.toContain('hunter2');
      const saved = await dispatch(station, 'saveSettings', [input]);
      expect(saved.ok).toBe(false);
      expect((saved as { error: string }).error).not.toContain('hunter2');
      const view = await dispatch(station, 'getSettings', []);
      expect(JSON.stringify(view)).not.toContain('hunter2');
    });
  }

  it('is refused in a configuration file, naming cloud.url and where the secret goes', async () => {
    for (const [cloud, where] of [
      [{ backend: 'gadgetkeeper', url: 'https://line:hunter2@api.gadgetkeeper.com' }, /cloud\.productKey/],
      [{ backend: 'fleetfreedom', url: 'wss://line:hunter2@socket.fleetfreedom.com', username: 'u', password: 'p', company: 7, providerKind: 'json' }, /cloud\.password/],
      [{ backend: 'exosite', url: 'https://line:hunter2@m2.exosite.com', vendor: 'a', model: 'b' }, /Exosite takes none/],
    ] as const) {
      const file = join(mkdtempSync(join(tmpdir(), 'url-credentials-')), 'line.json');
      writeFileSync(file, JSON.stringify({ cloud, ports: [], firmware: { source: 'file', path: '/dev/null', versionId: 'v' } }));
      const error = await loadLineConfig(file).catch((e: unknown) => e);
      expect(error, cloud.backend).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).describe();
      expect(message).toMatch(/cloud\.url: must not hold a user name or password/);
      expect(message).toMatch(where);
      expect(message).not.toContain('hunter2');
    }
  });

  it('is refused by the adapters themselves, whatever built their settings', () => {
    expect(() => new GadgetKeeperAdapter({ baseUrl: 'https://u:hunter2@api.gadgetkeeper.com' })).toThrow(ConfigError);
    expect(() => new FleetFreedomSession({ url: 'wss://u:hunter2@socket.fleetfreedom.com', username: 'u', password: 'p' })).toThrow(/must not hold a user name or password/);
  });

  it('saved earlier (before this check), is shown to a screen without its credentials', async () => {
    const station = desk({ line: { backend: 'exosite', url: 'https://line:hunter2@m2.exosite.com/', fields: { vendor: 'a', model: 'b' }, ports: [], autoStart: false } });
    await station.init();
    const view = await dispatch(station, 'getSettings', []);
    expect(view.ok).toBe(true);
    expect((view as { value: { url: string } }).value.url).toBe('https://m2.exosite.com/');
  });

  describe('that does not parse as a URL (a bad port, a bad host)', () => {
    // A password may hold "/", "?" or "#" (one reason the text does not parse), and a tab inside the scheme keeps it from reading as one.
    const unparseable = ['https://admin:S3cret@cloud.example:99999/', 'https:admin:S3cret@cloud.example:99999/', 'https:\\\\admin:S3c@ret@cloud.example:99999/', ' //admin:S3cret@[::1/', 'https://admin:S3c/ret@cloud.example:99999/', 'https://admin:S3c?ret@cloud.example:99999/', 'ht\ttps://admin:S3c/ret@cloud.example:99999/'];

    it('is quoted by checkBaseUrl without its user name or password', () => {
      for (const url of unparseable) {
        let message = '';
        try {
          checkBaseUrl(url, GADGETKEEPER);
        } catch (error) {
          message = (error as ConfigError).describe();
        }
        expect(message, url).toMatch(/^the GadgetKeeper URL ".*" is not a valid URL/);
        expect(message, url).not.toMatch(/S3c|ret@|admin/);
      }
      expect(() => checkBaseUrl('https://admin:S3cret@cloud.example:99999/', GADGETKEEPER)).toThrow('the GadgetKeeper URL "https://cloud.example:99999/" is not a valid URL');
    });

    it('is shown by withoutUrlCredentials without its user name or password, the rest as it is', () => {
      expect(withoutUrlCredentials('https://admin:S3cret@cloud.example:99999/')).toBe('https://cloud.example:99999/');
      for (const url of unparseable) expect(withoutUrlCredentials(url), url).not.toMatch(/S3c|ret@|admin/);
      // Where the text does not parse, the host's end cannot be told: everything up to the last "@" goes, a path's too.
      expect(withoutUrlCredentials('https:\\\\admin:S3c@ret@cloud.example:99999/x@y')).toBe('https:\\\\y');
      expect(withoutUrlCredentials('https://cloud.example:99999/a@b')).toBe('https://b');
      // A URL that parses keeps an "@" after its host.
      expect(withoutUrlCredentials('https://cloud.example/a@b')).toBe('https://cloud.example/a@b');
      expect(withoutUrlCredentials('not a url')).toBe('not a url');
    });

    it('is refused in a configuration file as a URL with a user name or password, never quoting them', async () => {
      for (const cloud of [
        { backend: 'gadgetkeeper', url: 'https://admin:S3cret@api.gadgetkeeper.com:99999' },
        { backend: 'fleetfreedom', url: 'wss://admin:S3cret@socket.fleetfreedom.com:99999', username: 'u', password: 'p', company: 7, providerKind: 'json' },
        { backend: 'exosite', url: 'https://admin:S3cret@m2.exosite.com:99999', vendor: 'a', model: 'b' },
      ]) {
        const file = join(mkdtempSync(join(tmpdir(), 'url-credentials-')), 'line.json');
        writeFileSync(file, JSON.stringify({ cloud, ports: [], firmware: { source: 'file', path: '/dev/null', versionId: 'v' } }));
        const error = await loadLineConfig(file).catch((e: unknown) => e);
        expect(error, cloud.backend).toBeInstanceOf(ConfigError);
        const message = (error as ConfigError).describe();
        expect(message, cloud.backend).toMatch(/cloud\.url: must not hold a user name or password/);
        expect(message, cloud.backend).not.toMatch(/S3cret|admin/);
      }
    });

    it('saved earlier, is shown to a screen without its user name or password', async () => {
      const station = desk({ line: { backend: 'exosite', url: 'https://line:S3cret@m2.exosite.com:99999/', fields: { vendor: 'a', model: 'b' }, ports: [], autoStart: false } });
      await station.init();
      const view = await dispatch(station, 'getSettings', []);
      expect(view.ok).toBe(true);
      expect((view as { value: { url: string } }).value.url).toBe('https://m2.exosite.com:99999/');
    });
  });
});
