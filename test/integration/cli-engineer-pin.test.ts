import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { storedPinHash, verifyPin } from '../../main/core/operator/engineer-pin.ts';
import { Journal } from '../../main/core/storage/journal.ts';
import { SecretBox } from '../../main/core/storage/secret-box.ts';
import { runStation } from '../helpers/station-cli.ts';

const station = (args: string[], stdin = '') => runStation(args, { stdin });

const hashIn = (dataDir: string) => {
  const journal = Journal.openExisting(join(dataDir, 'journal.sqlite'), new SecretBox(randomBytes(32)))!;
  try {
    return storedPinHash(journal);
  } finally {
    journal.close();
  }
};

describe('station engineer-pin', () => {
  it('sets the PIN from standard input, keeping only its scrypt hash in the journal; status and clear', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pin-'));
    expect((await station(['engineer-pin', 'status', '--data-dir', dataDir])).stdout).toMatch(/no engineer PIN is set: operator mode is off/);
    const set = await station(['engineer-pin', 'set', '--data-dir', dataDir], '735911\n');
    expect(set).toMatchObject({ code: 0, stdout: expect.stringMatching(/the engineer PIN is set .*operator mode is on/) });
    const hash = hashIn(dataDir)!;
    expect(hash).toMatch(/^scrypt\$/);
    expect(await verifyPin('735911', hash)).toBe(true);
    // Nowhere in the data folder in plain text; no key file made for it.
    for (const file of readdirSync(dataDir)) expect(readFileSync(join(dataDir, file)).includes('735911'), file).toBe(false);
    expect(readdirSync(dataDir)).not.toContain('station.key');
    expect((await station(['engineer-pin', 'status', '--data-dir', dataDir])).stdout).toMatch(/an engineer PIN is set/);

    expect(await station(['engineer-pin', 'set', '--data-dir', dataDir], '12\n')).toMatchObject({ code: 2, stderr: expect.stringMatching(/must be 4 to 64 characters/) });
    expect(await station(['engineer-pin', 'set', '--data-dir', dataDir], '')).toMatchObject({ code: 2, stderr: expect.stringMatching(/no PIN on standard input/) });
    expect(hashIn(dataDir)).toBe(hash);

    expect((await station(['engineer-pin', 'clear', '--data-dir', dataDir])).code).toBe(0);
    expect(hashIn(dataDir)).toBeUndefined();
    expect((await station(['engineer-pin', '--data-dir', dataDir])).code).toBe(2);
  });
});
