import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { Journal, SCHEMA_VERSION } from '../../../main/core/storage/journal.ts';
import { migrateJournal } from '../../../main/core/storage/journal-migrations.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';

/** The journal's tables as stations with schema version 1 created them (before attempts). */
const SCHEMA_V1 = `
CREATE TABLE units (
  id INTEGER PRIMARY KEY, serial TEXT NOT NULL, port TEXT NOT NULL,
  result TEXT NOT NULL CHECK (result IN ('in-progress','passed','failed','pending')),
  current_step TEXT, failed_step TEXT, error TEXT, thing_id TEXT, version_id TEXT, credentials BLOB,
  credentials_state TEXT NOT NULL DEFAULT 'none' CHECK (credentials_state IN ('none','held','written','pending')),
  started_at INTEGER NOT NULL, finished_at INTEGER);
CREATE INDEX units_serial ON units(serial);
CREATE INDEX units_result ON units(result);
CREATE TABLE step_events (id INTEGER PRIMARY KEY, unit_id INTEGER NOT NULL REFERENCES units(id), step TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('started','done','failed','skipped')), at INTEGER NOT NULL, duration_ms INTEGER, detail TEXT);
CREATE INDEX step_events_unit ON step_events(unit_id);
CREATE TABLE outbox (id INTEGER PRIMARY KEY, unit_id INTEGER NOT NULL REFERENCES units(id), seq INTEGER NOT NULL, backend TEXT NOT NULL,
  call TEXT NOT NULL, payload BLOB NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending','in-flight','done','failed')),
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT, created_at INTEGER NOT NULL, done_at INTEGER, UNIQUE (unit_id, seq));
CREATE INDEX outbox_state ON outbox(state, next_attempt_at);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE firmware_cache (version_key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, path TEXT NOT NULL, fetched_at INTEGER NOT NULL);
PRAGMA user_version = 1;`;

/** A real SQLite file as a version-1 station left it: two units, one passed and one failed, and a setting. */
function journalV1(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'journal-v1-')), 'journal.sqlite');
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL;');
  db.exec(SCHEMA_V1);
  db.exec(`INSERT INTO units (serial, port, result, thing_id, started_at, finished_at) VALUES ('SN-OLD-1', '/dev/ttyACM0', 'passed', 'thing-1', 1000, 5000);
           INSERT INTO units (serial, port, result, failed_step, error, started_at, finished_at) VALUES ('SN-OLD-2', '/dev/ttyACM1', 'failed', 'flash', 'unplugged', 2000, 3000);
           INSERT INTO settings (key, value) VALUES ('last-target:gadgetkeeper', 'v-7');`);
  db.close();
  return path;
}

/** The attempts table as stations with schema version 2 created it (before traceability). */
const ATTEMPTS_V2 = `
CREATE TABLE attempts (id INTEGER PRIMARY KEY, unit_id INTEGER NOT NULL REFERENCES units(id), port TEXT NOT NULL, slot TEXT,
  result TEXT NOT NULL CHECK (result IN ('in-progress','passed','failed','pending','cancelled')), failed_step TEXT, error TEXT,
  started_at INTEGER NOT NULL, finished_at INTEGER);
CREATE INDEX attempts_unit ON attempts(unit_id);
CREATE INDEX attempts_started ON attempts(started_at);`;

/** A real SQLite file as a version-2 station left it: a unit tried twice, and a setting. */
function journalV2(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'journal-v2-')), 'journal.sqlite');
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL;');
  db.exec(SCHEMA_V1.replace('PRAGMA user_version = 1;', `${ATTEMPTS_V2} PRAGMA user_version = 2;`));
  db.exec(`INSERT INTO units (serial, port, result, thing_id, version_id, started_at, finished_at) VALUES ('SN-V2', '/dev/ttyACM0', 'passed', 'thing-2', 'v-2', 1000, 9000);
           INSERT INTO attempts (unit_id, port, slot, result, failed_step, error, started_at, finished_at) VALUES (1, '/dev/ttyACM0', 'A1', 'failed', 'flash', 'unplugged', 1000, 2000);
           INSERT INTO attempts (unit_id, port, slot, result, started_at, finished_at) VALUES (1, '/dev/ttyACM0', 'A1', 'passed', 3000, 9000);
           INSERT INTO step_events (unit_id, step, status, at) VALUES (1, 'target-version', 'done', 1200), (1, 'flash', 'failed', 2000), (1, 'target-version', 'done', 3200);
           INSERT INTO settings (key, value) VALUES ('last-target:gadgetkeeper', 'v-2');`);
  db.close();
  return path;
}

const box = () => new SecretBox(randomBytes(32));
const fresh = (now?: () => number) => Journal.open(join(mkdtempSync(join(tmpdir(), 'attempts-')), 'journal.sqlite'), box(), { now });

describe('the journal keeps every try of a unit as an attempt', () => {
  it('upgrades a version-1 journal: each unit record becomes its one attempt, nothing else changes', () => {
    const path = journalV1();
    const journal = Journal.open(path, box());
    try {
      expect(journal.attempts({ order: 'oldest' })).toMatchObject([
        { serial: 'SN-OLD-1', number: 1, port: '/dev/ttyACM0', result: 'passed', thingId: 'thing-1', startedAt: 1000, finishedAt: 5000 },
        { serial: 'SN-OLD-2', number: 1, port: '/dev/ttyACM1', result: 'failed', failedStep: 'flash', error: 'unplugged', startedAt: 2000, finishedAt: 3000 },
      ]);
      expect(journal.units()).toHaveLength(2);
      expect(journal.setting('last-target:gadgetkeeper')).toBe('v-7');
      // New tries go on after the old ones.
      const old = journal.latestUnit('SN-OLD-2')!;
      journal.retryUnit(old.id, '/dev/ttyACM1', { slot: '2' });
      journal.finishUnit(old.id, 'passed');
      expect(journal.attempts({ serial: 'SN-OLD-2' }).map((a) => [a.number, a.result])).toEqual([
        [2, 'passed'],
        [1, 'failed'],
      ]);
    } finally {
      journal.close();
    }
    const db = new DatabaseSync(path, { readOnly: true });
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION });
    db.close();
  });

  it('a reader (history) upgrades a version-1 journal before reading it', () => {
    const path = journalV1();
    const reader = Journal.openExisting(path, box())!;
    try {
      expect(reader.attempts().map((a) => a.serial)).toEqual(['SN-OLD-2', 'SN-OLD-1']);
    } finally {
      reader.close();
    }
  });

  it('upgrades a version-2 journal: its attempts stay as they were, with no traceability recorded; new ones carry it', () => {
    const path = journalV2();
    const journal = Journal.open(path, box());
    try {
      const untraced = { operator: undefined, stationId: undefined, configHash: undefined, firmwareSha256: undefined, label: undefined, labelProblem: undefined };
      expect(journal.attempts({ order: 'oldest' })).toEqual([
        // Its own version was never recorded; the unit's is its later attempt's.
        expect.objectContaining({ serial: 'SN-V2', number: 1, slot: 'A1', result: 'failed', failedStep: 'flash', error: 'unplugged', versionId: undefined, startedAt: 1000, finishedAt: 2000, ...untraced }),
        expect.objectContaining({ serial: 'SN-V2', number: 2, slot: 'A1', result: 'passed', thingId: 'thing-2', versionId: 'v-2', startedAt: 3000, finishedAt: 9000, ...untraced }),
      ]);
      expect(journal.setting('last-target:gadgetkeeper')).toBe('v-2');
      const unit = journal.startUnit('SN-NEW', '/dev/ttyACM1', { slot: 'A2', operator: 'Ada', stationId: 'station-7', configHash: 'c'.repeat(64) });
      journal.setAttemptFirmware(unit.id, 'f'.repeat(64));
      journal.finishUnit(unit.id, 'passed');
      expect(journal.attempts({ serial: 'SN-NEW' })).toEqual([expect.objectContaining({ slot: 'A2', operator: 'Ada', stationId: 'station-7', configHash: 'c'.repeat(64), firmwareSha256: 'f'.repeat(64) })]);
    } finally {
      journal.close();
    }
    const db = new DatabaseSync(path, { readOnly: true });
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION });
    db.close();
  });

  it('upgrades a version-3 journal: the unit\'s version goes to its last attempt that looked up its target, none to the others', () => {
    const path = journalV2();
    const db = new DatabaseSync(path);
    migrateJournal(db, 2, 3, path);
    const sha = (c: string) => c.repeat(64);
    // As version-3 stations recorded them: each attempt's target-version step in step_events, the unit keeping only the last version looked up.
    db.exec(`INSERT INTO units (id, serial, port, result, version_id, started_at, finished_at) VALUES
               (2, 'SN-EARLY', 'p1', 'failed', 'v-3', 10000, 19000), (3, 'SN-NEWER', 'p1', 'passed', 'v-5', 20000, 30000),
               (4, 'SN-DOWNLOAD', 'p1', 'failed', 'v-6', 31000, 35000), (5, 'SN-CRASHED', 'p1', 'in-progress', 'v-7', 36000, NULL);
             INSERT INTO attempts (unit_id, port, result, firmware_sha256, failed_step, started_at, finished_at) VALUES
               (2, 'p1', 'failed', '${sha('e')}', 'write-credentials', 10000, 15000), (2, 'p1', 'failed', NULL, 'identify', 16000, 19000),
               (3, 'p1', 'failed', '${sha('d')}', 'flash', 20000, 25000), (3, 'p1', 'passed', '${sha('c')}', NULL, 26000, 30000),
               (4, 'p1', 'failed', NULL, 'download', 31000, 35000), (5, 'p1', 'in-progress', NULL, NULL, 36000, NULL);
             INSERT INTO step_events (unit_id, step, status, at) VALUES
               (2, 'identify', 'done', 10050), (2, 'target-version', 'done', 10100), (2, 'identify', 'failed', 19000),
               (3, 'target-version', 'done', 20100), (3, 'target-version', 'done', 26100),
               (4, 'target-version', 'done', 31100), (4, 'download', 'failed', 35000), (5, 'target-version', 'done', 36100);`);
    db.close();
    const journal = Journal.open(path, box());
    try {
      const versions = (serial: string) => journal.attempts({ serial, order: 'oldest' }).map((a) => [a.number, a.failedStep, a.versionId]);
      // A retry that failed before looking up its target did not overwrite the version: the attempt before went for it.
      expect(versions('SN-EARLY')).toEqual([
        [1, 'write-credentials', 'v-3'],
        [2, 'identify', undefined],
      ]);
      // Flashed, then retried after the cloud's target changed: the unit's version is the retry's, not the first attempt's.
      expect(versions('SN-NEWER')).toEqual([
        [1, 'flash', undefined],
        [2, undefined, 'v-5'],
      ]);
      // Looked up its target but had no image to record, or the station stopped mid-way: still its version.
      expect(versions('SN-DOWNLOAD')).toEqual([[1, 'download', 'v-6']]);
      expect(versions('SN-CRASHED')).toEqual([[1, undefined, 'v-7']]);
    } finally {
      journal.close();
    }
  });

  it('each attempt shows the firmware version it went for, not its unit\'s latest: a retry that failed early shows none', () => {
    const journal = fresh();
    const unit = journal.startUnit('SN-VER', 'p0');
    journal.setCloudIds(unit.id, { thingId: 'thing-1', versionId: 'v-1' });
    journal.setAttemptFirmware(unit.id, 'a'.repeat(64));
    journal.finishUnit(unit.id, 'failed', { step: 'confirm', error: 'cloud refused' });
    journal.retryUnit(unit.id, 'p0');
    journal.finishUnit(unit.id, 'failed', { step: 'identify', error: 'no answer' });
    journal.retryUnit(unit.id, 'p0');
    journal.setCloudIds(unit.id, { versionId: 'v-2' });
    journal.finishUnit(unit.id, 'failed', { step: 'download', error: 'offline' });
    expect(journal.attempts({ serial: 'SN-VER', order: 'oldest' }).map((a) => [a.number, a.versionId, a.firmwareSha256])).toEqual([
      [1, 'v-1', 'a'.repeat(64)],
      [2, undefined, undefined],
      [3, 'v-2', undefined],
    ]);
    journal.close();
  });

  it('an attempt shows the version it goes for as soon as it has looked it up, before it ends', () => {
    const journal = fresh();
    const unit = journal.startUnit('SN-LIVE', 'p0');
    journal.setCloudIds(unit.id, { versionId: 'v-8' });
    expect(journal.attempts({ serial: 'SN-LIVE' })).toEqual([expect.objectContaining({ result: 'in-progress', versionId: 'v-8' })]);
    journal.finishUnit(unit.id, 'failed', { step: 'flash', error: 'unplugged' });
    // The retry has not looked up its target yet: none of its own, and the first attempt keeps its version.
    journal.retryUnit(unit.id, 'p0');
    expect(journal.attempts({ serial: 'SN-LIVE', order: 'oldest' }).map((a) => [a.number, a.result, a.versionId])).toEqual([
      [1, 'failed', 'v-8'],
      [2, 'in-progress', undefined],
    ]);
    journal.setCloudIds(unit.id, { thingId: 'thing-8' });
    expect(journal.attempts({ serial: 'SN-LIVE' })[0]!.versionId).toBeUndefined();
    journal.setCloudIds(unit.id, { versionId: 'v-9' });
    expect(journal.attempts({ serial: 'SN-LIVE', order: 'oldest' }).map((a) => a.versionId)).toEqual(['v-8', 'v-9']);
    journal.close();
  });

  it('a reader (station history) upgrades a version-2 journal before reading it', () => {
    const reader = Journal.openExisting(journalV2(), box())!;
    try {
      expect(reader.attempts().map((a) => [a.number, a.result, a.operator])).toEqual([
        [2, 'passed', undefined],
        [1, 'failed', undefined],
      ]);
    } finally {
      reader.close();
    }
  });

  it('keeps each attempt\'s label and whether it was printed; a restart continuing an attempt records who continued it', () => {
    const journal = fresh();
    const unit = journal.startUnit('SN9', 'p0', { slot: '1', operator: 'Ada', stationId: 's1', configHash: 'a'.repeat(64) });
    const values = { serial: 'SN9', thingId: 'thing-9', date: '2026-11-30', operator: 'Ada' };
    const attemptId = journal.recordLabel(unit.id, values, 'label not printed: the printer is off');
    expect(journal.attempt(attemptId)).toMatchObject({ id: attemptId, serial: 'SN9', label: values, labelProblem: 'label not printed: the printer is off' });
    journal.setLabelProblem(attemptId, undefined);
    expect(journal.attempt(attemptId)).toMatchObject({ label: values, labelProblem: undefined });
    // The station stopped mid-way; its restart, with another operator, continues the same attempt.
    journal.startAttempt(unit.id, 'p1', { slot: '2', operator: 'Grace', stationId: 's1', configHash: 'b'.repeat(64) });
    expect(journal.attempts({ serial: 'SN9' })).toEqual([expect.objectContaining({ id: attemptId, port: 'p1', slot: '2', operator: 'Grace', configHash: 'b'.repeat(64) })]);
    expect(journal.currentAttempt(unit.id)).toBe(attemptId);
    journal.close();
  });

  it('refuses a journal from a newer station, naming it, and leaves it untouched', () => {
    const path = journalV1();
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 99');
    db.close();
    expect(() => Journal.open(path, box())).toThrow(new RegExp(`schema version 99; this station understands ${SCHEMA_VERSION}`));
  });

  it('a retry is a new attempt of the same unit; the failed one stays, with its failure', () => {
    let now = 10_000;
    const journal = fresh(() => now);
    const unit = journal.startUnit('SN1', '/dev/ttyACM0', { slot: 'A1' });
    now += 5_000;
    journal.finishUnit(unit.id, 'failed', { step: 'write-credentials', error: 'memory write failed' });
    now += 1_000;
    journal.retryUnit(unit.id, '/dev/ttyACM0', { slot: 'A1' });
    expect(journal.unit(unit.id)?.result).toBe('in-progress');
    now += 4_000;
    journal.finishUnit(unit.id, 'passed');
    expect(journal.units({ serial: 'SN1' })).toHaveLength(1);
    expect(journal.attempts({ serial: 'SN1', order: 'oldest' })).toMatchObject([
      { unitId: unit.id, number: 1, slot: 'A1', result: 'failed', failedStep: 'write-credentials', error: 'memory write failed', startedAt: 10_000, finishedAt: 15_000 },
      { unitId: unit.id, number: 2, slot: 'A1', result: 'passed', failedStep: undefined, startedAt: 16_000, finishedAt: 20_000 },
    ]);
    journal.close();
  });

  it('a cancel is recorded as cancelled on the attempt (the record stays retryable); a crash-interrupted attempt is continued, not doubled', () => {
    const journal = fresh();
    const unit = journal.startUnit('SN2', 'p0');
    journal.finishUnit(unit.id, 'failed', { step: 'flash', error: 'cancelled', cancelled: true });
    expect(journal.unit(unit.id)?.result).toBe('failed');
    expect(journal.attempts({ serial: 'SN2' })[0]?.result).toBe('cancelled');

    const crashed = journal.startUnit('SN3', 'p1');
    // The station restarts and the unit continues its record: still one attempt.
    journal.startAttempt(crashed.id, 'p1');
    journal.finishUnit(crashed.id, 'pending');
    expect(journal.attempts({ serial: 'SN3' }).map((a) => a.result)).toEqual(['pending']);
    // Its queued calls go through later: the attempt passes, keeping when it left the line.
    const left = journal.attempts({ serial: 'SN3' })[0]!.finishedAt;
    journal.finishUnit(crashed.id, 'passed');
    expect(journal.attempts({ serial: 'SN3' })).toMatchObject([{ result: 'passed', finishedAt: left }]);
    // Plugged in again later to finish: a second attempt.
    journal.startAttempt(crashed.id, 'p2');
    expect(journal.attempts({ serial: 'SN3' }).map((a) => [a.number, a.port, a.result])).toEqual([
      [2, 'p2', 'in-progress'],
      [1, 'p1', 'passed'],
    ]);
    journal.close();
  });

  it('filters attempts by result, port or slot, part of a serial and date range, numbering each within its unit', () => {
    let now = 0;
    const journal = fresh(() => now);
    const run = (serial: string, port: string, slot: string, at: number, result: 'passed' | 'failed') => {
      now = at;
      const previous = journal.latestUnit(serial);
      const id = previous ? (journal.retryUnit(previous.id, port, { slot }), previous.id) : journal.startUnit(serial, port, { slot }).id;
      now = at + 100;
      journal.finishUnit(id, result, result === 'failed' ? { step: 'flash', error: 'x' } : {});
    };
    run('AB-1', '/dev/a', 'A1', 1_000, 'failed');
    run('AB-2', '/dev/b', 'A2', 2_000, 'passed');
    run('AB-1', '/dev/a', 'A1', 3_000, 'passed');
    run('CD_3', '/dev/c', 'B1', 4_000, 'failed');
    const ids = (filter: Parameters<Journal['attempts']>[0]) => journal.attempts(filter).map((a) => `${a.serial}#${a.number}`);
    expect(ids({})).toEqual(['CD_3#1', 'AB-1#2', 'AB-2#1', 'AB-1#1']);
    expect(ids({ result: 'failed' })).toEqual(['CD_3#1', 'AB-1#1']);
    expect(ids({ port: 'A1' })).toEqual(['AB-1#2', 'AB-1#1']);
    expect(ids({ port: '/dev/b' })).toEqual(['AB-2#1']);
    expect(ids({ serialContains: 'B-' })).toEqual(['AB-1#2', 'AB-2#1', 'AB-1#1']);
    expect(ids({ serialContains: '_' })).toEqual(['CD_3#1']);
    expect(ids({ from: 2_000, to: 4_000 })).toEqual(['AB-1#2', 'AB-2#1']);
    expect(ids({ from: 2_500, result: 'passed' })).toEqual(['AB-1#2']);
    journal.close();
  });
});
