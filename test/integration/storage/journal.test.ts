import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../main/core/errors.ts';
import { Journal, RECORDED_TEXT_MAX } from '../../../main/core/storage/journal.ts';
import { loadOrCreateKeyFile, SecretBox } from '../../../main/core/storage/secret-box.ts';

const dataDir = () => mkdtempSync(join(tmpdir(), 'journal-'));
const API_KEY = '0123456789abcdef0123456789abcdef';

describe('SecretBox and the key file', () => {
  it('seals with AES-256-GCM bound to where the value belongs', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal(API_KEY, 'unit:1:credentials');
    expect(sealed.includes(Buffer.from(API_KEY))).toBe(false);
    expect(box.open(sealed, 'unit:1:credentials')).toBe(API_KEY);
    expect(() => box.open(sealed, 'unit:2:credentials')).toThrow(/could not be decrypted/);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => box.open(tampered, 'unit:1:credentials')).toThrow(/could not be decrypted/);
    let wrongKey: unknown;
    try {
      new SecretBox(randomBytes(32)).open(sealed, 'unit:1:credentials');
    } catch (error) {
      wrongKey = error;
    }
    expect(wrongKey).toMatchObject({ code: 'SECRET_UNREADABLE', hint: expect.stringContaining('different key') });
  });

  it('creates a 0600 key file once and reuses it; refuses one others can read', async () => {
    const dir = dataDir();
    const key = await loadOrCreateKeyFile(dir);
    expect(statSync(join(dir, 'station.key')).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateKeyFile(dir)).equals(key)).toBe(true);
    chmodSync(join(dir, 'station.key'), 0o644);
    await expect(loadOrCreateKeyFile(dir)).rejects.toBeInstanceOf(ConfigError);
    await expect(loadOrCreateKeyFile(dir)).rejects.toMatchObject({ message: expect.stringContaining('can be read by other users'), hint: expect.stringContaining('chmod 600') });
  });
});

describe('Journal on SQLite', () => {
  async function open(dir = dataDir()) {
    const box = new SecretBox(await loadOrCreateKeyFile(dir));
    return { dir, journal: Journal.open(join(dir, 'journal.sqlite'), box) };
  }

  it('records a unit, its steps and its result, and reads them back after reopening', async () => {
    const { dir, journal } = await open();
    const unit = journal.startUnit('THERM00000000000042', '/dev/ttyACM0');
    journal.recordStep(unit.id, 'identify', 'started');
    journal.recordStep(unit.id, 'identify', 'done', { durationMs: 12 });
    journal.setCloudIds(unit.id, { thingId: 'a'.repeat(32), versionId: 'b'.repeat(32) });
    journal.finishUnit(unit.id, 'failed', { step: 'flash', error: 'unplugged' });
    journal.close();

    const reopened = (await open(dir)).journal;
    expect(reopened.unit(unit.id)).toMatchObject({ serial: 'THERM00000000000042', result: 'failed', failedStep: 'flash', currentStep: 'identify', thingId: 'a'.repeat(32) });
    expect(reopened.stepEvents(unit.id).map((e) => [e.step, e.status, e.durationMs])).toEqual([
      ['identify', 'started', undefined],
      ['identify', 'done', 12],
    ]);
    expect(reopened.units({ serial: 'THERM00000000000042' })).toHaveLength(1);
    reopened.close();
  });

  it('keeps credentials, outbox payloads and secret settings (the line configuration with its cloud password) encrypted on disk', async () => {
    const { dir, journal } = await open();
    const unit = journal.startUnit('SN1', 'p');
    journal.storeCredentials(unit.id, { thingId: 't'.repeat(32), apiKey: API_KEY, account: 'gadgetkeeper https://api.gadgetkeeper.com' }, 'held');
    journal.enqueue(unit.id, 'gadgetkeeper', 'confirmVersion', { apiKey: API_KEY, versionId: 'v' });
    const line = JSON.stringify({ cloud: { backend: 'fleetfreedom', password: API_KEY } });
    journal.setSecretSetting('line-config', line);
    expect(journal.credentials(unit.id)).toEqual({ thingId: 't'.repeat(32), apiKey: API_KEY, account: 'gadgetkeeper https://api.gadgetkeeper.com' });
    expect(journal.unit(unit.id)?.credentialsState).toBe('held');
    expect(journal.secretSetting('line-config')).toBe(line);
    journal.close();
    // Stored as text (base64): decoded, it still holds no secret.
    const db = new DatabaseSync(join(dir, 'journal.sqlite'));
    const stored = (db.prepare('SELECT value FROM settings WHERE key = ?').get('sealed:line-config') as { value: string }).value;
    db.close();
    expect(Buffer.from(stored, 'base64').includes(Buffer.from(API_KEY))).toBe(false);
    for (const file of ['journal.sqlite', 'journal.sqlite-wal']) {
      const bytes = (() => {
        try {
          return readFileSync(join(dir, file));
        } catch {
          return Buffer.alloc(0);
        }
      })();
      expect(bytes.includes(Buffer.from(API_KEY))).toBe(false);
    }
  });

  it('keeps a failure\'s text within RECORDED_TEXT_MAX, its start and its end (the hint), on the unit, its attempt, its steps, its label and its queued calls', async () => {
    const { journal } = await open();
    const long = (what: string) => `${what} began:${'x'.repeat(12_000)} and the hint is at the end`;
    const fits = (text: string | undefined, what: string) => {
      expect(text!.length, what).toBeLessThanOrEqual(RECORDED_TEXT_MAX);
      expect(text, what).toMatch(new RegExp(`^${what} began:x+…x+ and the hint is at the end$`));
    };
    const unit = journal.startUnit('THERM00000000000042', '/dev/ttyACM0');
    const call = journal.enqueue(unit.id, 'gk', 'confirm', {});
    journal.markRetry(call.id, long('retry'), 0);
    fits(journal.outboxEntry(call.id)?.lastError, 'retry');
    journal.markFailed(call.id, long('failed'));
    fits(journal.outboxEntry(call.id)?.lastError, 'failed');
    const attemptId = journal.recordLabel(unit.id, { serial: 'THERM00000000000042' }, long('label'));
    fits(journal.attempts({ serial: 'THERM00000000000042' })[0]?.labelProblem, 'label');
    journal.setLabelProblem(attemptId, long('reprint'));
    fits(journal.attempts({ serial: 'THERM00000000000042' })[0]?.labelProblem, 'reprint');
    journal.recordStep(unit.id, 'flash', 'failed', { detail: long('step') });
    fits(journal.stepEvents(unit.id).at(-1)?.detail, 'step');
    journal.finishUnit(unit.id, 'failed', { step: 'flash', error: long('unit') });
    fits(journal.unit(unit.id)?.error, 'unit');
    fits(journal.attempts({ serial: 'THERM00000000000042' })[0]?.error, 'unit');
    journal.close();
  });

  it('replays a unit\'s outbox calls in order, one at a time, with retries scheduled', async () => {
    let now = 1000;
    const dir = dataDir();
    const journal = Journal.open(join(dir, 'j.sqlite'), new SecretBox(randomBytes(32)), { now: () => now });
    const a = journal.startUnit('A', 'p1');
    const b = journal.startUnit('B', 'p2');
    const a1 = journal.enqueue(a.id, 'gk', 'activate', {});
    const a2 = journal.enqueue(a.id, 'gk', 'rename', { name: 'x' });
    const b1 = journal.enqueue(b.id, 'gk', 'activate', {});
    // A unit still on its port is not replayed behind the pipeline's back.
    expect(journal.dueOutbox()).toEqual([]);
    journal.finishUnit(a.id, 'pending');
    journal.finishUnit(b.id, 'pending');
    expect(journal.dueOutbox().map((e) => e.id)).toEqual([a1.id, b1.id]);
    expect(journal.claimOutbox(a1.id)).toBe(true);
    // A second replayer (another process on the same journal) cannot take the same call.
    expect(journal.claimOutbox(a1.id)).toBe(false);
    expect(journal.dueOutbox().map((e) => e.id)).toEqual([b1.id]);
    expect(journal.inFlightOutbox().map((e) => [e.id, e.serial, e.attempts])).toEqual([[a1.id, 'A', 1]]);
    journal.markDone(a1.id);
    journal.markRetry(b1.id, 'GadgetKeeper answered 503', 5000);
    expect(journal.dueOutbox().map((e) => e.id)).toEqual([a2.id]);
    now = 6000;
    // Due order: a2 has waited since t=1000, b1's retry only since t=5000.
    expect(journal.dueOutbox().map((e) => e.id)).toEqual([a2.id, b1.id]);
    expect(journal.outboxCounts()).toEqual({ pending: 2, 'in-flight': 0, done: 1, failed: 0 });
    expect(journal.outboxEntry(a2.id)?.payload).toEqual({ name: 'x' });
  });

  it('indexes cached firmware by version', async () => {
    const { journal } = await open();
    journal.cacheFirmware({ versionKey: 'gadgetkeeper:v1', sha256: 'f'.repeat(64), size: 10, path: '/cache/ff' });
    expect(journal.cachedFirmware('gadgetkeeper:v1')).toEqual({ sha256: 'f'.repeat(64), size: 10, path: '/cache/ff' });
    journal.forgetFirmware('gadgetkeeper:v1');
    expect(journal.cachedFirmware('gadgetkeeper:v1')).toBeUndefined();
  });

  // A killed process leaves its writes in the OS page cache, so this holds for any
  // synchronous setting: it shows the journal holds nothing back in the process.
  // That a commit is on the disk itself (a power cut) is the fsync test below.
  it('keeps every committed record through kill -9 of the process', async () => {
    const dir = dataDir();
    await loadOrCreateKeyFile(dir);
    const script = `
      import { join } from 'node:path';
      import { Journal } from '${join(process.cwd(), 'main/core/storage/journal.ts')}';
      import { SecretBox, loadOrCreateKeyFile } from '${join(process.cwd(), 'main/core/storage/secret-box.ts')}';
      const dir = ${JSON.stringify(dir)};
      const journal = Journal.open(join(dir, 'journal.sqlite'), new SecretBox(await loadOrCreateKeyFile(dir)));
      for (let i = 0; ; i++) {
        const unit = journal.startUnit('SN' + i, 'p');
        journal.finishUnit(unit.id, 'passed');
        process.stdout.write('committed ' + i + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acknowledged = -1;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        const matches = [...chunk.toString().matchAll(/committed (\d+)/g)];
        if (matches.length) acknowledged = Number(matches.at(-1)![1]);
        if (acknowledged >= 50) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const { journal } = await open(dir);
    const passed = journal.units({ limit: 100_000 }).filter((u) => u.result === 'passed');
    // Everything the process said was committed is there, whole.
    expect(passed.length).toBeGreaterThanOrEqual(acknowledged + 1);
    expect(journal.unitsInProgress().length).toBeLessThanOrEqual(1);
    journal.close();
  });

  it('has each commit synced to disk (fsync of the WAL) before it returns: synchronous=FULL, what a power cut needs', () => {
    // strace sees every fsync and every line the process prints, in order: between two
    // "committed" lines there must be an fsync of the journal's WAL. With synchronous=NORMAL
    // or OFF the WAL is synced only at checkpoints, and kill -9 alone could not tell.
    const dir = dataDir();
    const trace = join(dir, 'strace.txt');
    const script = `
      import { join } from 'node:path';
      import { Journal } from '${join(process.cwd(), 'main/core/storage/journal.ts')}';
      import { SecretBox, loadOrCreateKeyFile } from '${join(process.cwd(), 'main/core/storage/secret-box.ts')}';
      const dir = ${JSON.stringify(dir)};
      const journal = Journal.open(join(dir, 'journal.sqlite'), new SecretBox(await loadOrCreateKeyFile(dir)));
      for (let i = 0; i < 20; i++) {
        journal.finishUnit(journal.startUnit('SN' + i, 'p').id, 'passed');
        process.stdout.write('committed ' + i + '\\n');
      }
      journal.close();`;
    const run = spawnSync('strace', ['-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync,write', '-o', trace, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.error, 'this test needs strace (apt-get install strace)').toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    const events = readFileSync(trace, 'utf8')
      .split('\n')
      .map((line) => (/write\(1<[^>]*>, "committed \d+/.test(line) ? 'committed' : /f(?:data)?sync\(\d+<[^>]*journal\.sqlite-wal>\) = 0/.test(line) ? 'wal synced' : undefined))
      .filter((event) => event !== undefined);
    expect(events.filter((event) => event === 'committed')).toHaveLength(20);
    let syncedSinceLast = false;
    let commit = 0;
    const unsynced: number[] = [];
    for (const event of events) {
      if (event === 'wal synced') syncedSinceLast = true;
      else {
        if (!syncedSinceLast) unsynced.push(commit);
        syncedSinceLast = false;
        commit++;
      }
    }
    expect(unsynced, 'commits that returned before the WAL was synced').toEqual([]);
  });
});

