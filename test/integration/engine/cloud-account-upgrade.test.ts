import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { LINE_CONFIG_SETTING, Station } from '../../../main/core/engine/station.ts';
import { dataFolder } from '../../../main/core/storage/data-folder.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';

const ISSUER = 'http://127.0.0.1:1';
const OTHER = 'http://127.0.0.1:2';
const lineOn = (url: string) => lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url } });
const accountOf = (url: string) => new GadgetKeeperAdapter({ baseUrl: url }).account;

/**
 * Credentials an older station stored carry no record of the cloud that
 * issued them, so they would go to whatever cloud the line is set to later.
 * The first start of this version stamps them with the cloud the station last
 * ran with (its stored line configuration), once.
 */
describe('credentials stored before the station recorded their cloud', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A data folder as an older station left it: a unit holding credentials without their cloud, and (maybe) the line it last ran. */
  function olderDataFolder(lastLine: string | undefined, storedLine = lastLine === undefined ? undefined : JSON.stringify(lineOn(lastLine))) {
    const dir = mkdtempSync(join(tmpdir(), 'creds-issuer-'));
    const secretKey = randomBytes(32);
    const journal = Journal.open(dataFolder(dir).journal, new SecretBox(secretKey));
    const unit = journal.startUnit('THERM00000000000042', '/dev/ttyACM0');
    journal.storeCredentials(unit.id, { thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32), account: undefined }, 'pending');
    if (storedLine !== undefined) journal.setSecretSetting(LINE_CONFIG_SETTING, storedLine);
    journal.close();
    const open = async (url: string) => {
      const station = await Station.open({ config: lineOn(url), dataDir: dir, secretKey, autoReplay: false });
      cleanup.push(() => station.close());
      return station;
    };
    return { unitId: unit.id, open };
  }

  it('are stamped with the cloud the station last ran with, even when it starts on another: they never go to the new one', async () => {
    const { unitId, open } = olderDataFolder(ISSUER);
    const station = await open(OTHER);
    expect(station.journal.credentials(unitId)).toEqual({ thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32), account: accountOf(ISSUER) });
  });

  it('are stamped with the cloud it runs on when it stored no line, once: a later change of cloud does not restamp them', async () => {
    const { unitId, open } = olderDataFolder(undefined);
    const first = await open(ISSUER);
    expect(first.journal.credentials(unitId)?.account).toBe(accountOf(ISSUER));
    await first.close();
    const second = await open(OTHER);
    expect(second.journal.credentials(unitId)?.account).toBe(accountOf(ISSUER));
  });

  it('are left as they were when the line the station last ran no longer reads (an older station allowed what this one refuses), and the station still opens', async () => {
    // A user name and password in the cloud URL: older stations took it, this one refuses it.
    const older = JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: 'http://line:secret@127.0.0.1:1' } });
    const { unitId, open } = olderDataFolder(undefined, older);
    const first = await open(OTHER);
    expect(first.journal.credentials(unitId)?.account).toBeUndefined();
    await first.close();
    // Decided once: the next start, whose stored line is now this one, does not stamp them with it either.
    const second = await open(ISSUER);
    expect(second.journal.credentials(unitId)?.account).toBeUndefined();
  });
});

/**
 * Firmware an older station cached ("<backend>:<id>") and the last target it
 * knew ("last-target:<backend>"): the station's own again when it last ran on
 * this same cloud (so an upgrade done while the cloud is away still flashes),
 * dropped when it ran on another.
 */
describe('a stored line the station cannot unseal', () => {
  it('leaves older credentials as they were, and the station still opens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'creds-unsealable-'));
    const secretKey = randomBytes(32);
    const journal = Journal.open(dataFolder(dir).journal, new SecretBox(secretKey));
    const unit = journal.startUnit('THERM00000000000042', '/dev/ttyACM0');
    journal.storeCredentials(unit.id, { thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32), account: undefined }, 'pending');
    // Sealed under a key this station does not have.
    journal.close();
    const other = Journal.open(dataFolder(dir).journal, new SecretBox(randomBytes(32)));
    other.setSecretSetting(LINE_CONFIG_SETTING, JSON.stringify(lineOn(ISSUER)));
    other.close();
    const station = await Station.open({ config: lineOn(OTHER), dataDir: dir, secretKey, autoReplay: false });
    try {
      expect(station.journal.credentials(unit.id)?.account).toBeUndefined();
    } finally {
      await station.close();
    }
  });
});

describe('firmware an older station cached', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A data folder whose unit G-1 was provisioned online, then rewritten as an older station keeps its cache and last target. */
  async function olderCache() {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['G-1', 'G-2'], versions: [{ name: '1.0', firmware: { size: 32 * 1024 } }] }] });
    cleanup.push(() => emulator.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'fw-older-'));
    const secretKey = randomBytes(32);
    const open = async (url: string, cloud: Record<string, unknown> = {}) => {
      const station = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url, ...cloud }, offline: { waitForCloudSeconds: 0 } }), dataDir, secretKey, probeIntervalMs: 100 });
      cleanup.push(() => station.close());
      return station;
    };
    const unit = async (serial: string) => {
      const sim = await startSimulatorOnPty({ serial, bootDelayMs: 20 });
      cleanup.push(() => sim.stop());
      return sim;
    };
    const station = await open(emulator.url);
    const [online] = await station.provisionOnce([(await unit('G-1')).path]);
    expect(online?.result).toBe('passed');
    const { account } = station.adapter;
    await station.close();
    const db = new DatabaseSync(dataFolder(dataDir).journal);
    const rows = db.prepare('SELECT version_key FROM firmware_cache').all() as Array<{ version_key: string }>;
    expect(rows).toHaveLength(1);
    for (const { version_key: key } of rows) db.prepare('UPDATE firmware_cache SET version_key = ? WHERE version_key = ?').run(`gadgetkeeper:${key.slice(account.length + 1)}`, key);
    db.prepare('DELETE FROM settings WHERE key = ?').run(`last-target-version:${account}`);
    db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('last-target:gadgetkeeper', online!.versionId!);
    db.close();
    const legacyLeft = () => {
      const check = new DatabaseSync(dataFolder(dataDir).journal);
      try {
        const cached = (check.prepare("SELECT COUNT(*) AS n FROM firmware_cache WHERE version_key LIKE 'gadgetkeeper:%'").get() as { n: number }).n;
        const target = check.prepare("SELECT value FROM settings WHERE key = 'last-target:gadgetkeeper'").get();
        return { cached, target };
      } finally {
        check.close();
      }
    };
    expect(legacyLeft()).toEqual({ cached: 1, target: { value: online!.versionId } });
    return { emulator, open, unit, versionId: online!.versionId!, legacyLeft, dataDir };
  }

  it('on the same cloud is its own again: upgraded while the cloud is away (its timeout edited meanwhile), the station flashes the cached image', { timeout: 60_000 }, async () => {
    const { emulator, open, unit, versionId, legacyLeft } = await olderCache();
    emulator.setOffline(true);
    // The same cloud with another setting: the cloud is told by where its calls go, not by the whole block.
    const station = await open(emulator.url, { timeoutMs: 20_000 });
    const [offline] = await station.provisionOnce([(await unit('G-2')).path]);
    expect(offline).toMatchObject({ result: 'pending', versionId });
    expect(emulator.calls.get('download')).toBe(1);
    expect(legacyLeft()).toEqual({ cached: 0, target: undefined });
  });

  it('on another cloud is dropped, never taken for the new one', { timeout: 60_000 }, async () => {
    const { open, legacyLeft, dataDir } = await olderCache();
    expect(readdirSync(dataFolder(dataDir).firmwareCache)).toHaveLength(1);
    const station = await open(OTHER);
    expect(station.journal.setting(`last-target-version:${station.adapter.account}`)).toBeUndefined();
    expect(legacyLeft()).toEqual({ cached: 0, target: undefined });
    // Its image goes with its entry, at the same start.
    expect(readdirSync(dataFolder(dataDir).firmwareCache)).toEqual([]);
  });
});
