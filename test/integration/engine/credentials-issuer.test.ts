import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { LINE_CONFIG_SETTING, Station } from '../../../main/core/engine/station.ts';
import { dataFolder } from '../../../main/core/storage/data-folder.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';

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
