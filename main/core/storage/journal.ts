import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementResultingChanges, type StatementSync } from 'node:sqlite';
import { z } from 'zod';
import { StationError } from '../errors.ts';
import { fitText } from '../format.ts';
import { jsonOrUndefined } from '../validation.ts';
import { createPrivateFile } from './data-folder.ts';
import { ATTEMPTS_SCHEMA, ATTEMPTS_TRACE_COLUMNS, ATTEMPTS_VERSION_COLUMN, migrateJournal, OUTBOX_ACCOUNT_COLUMN } from './journal-migrations.ts';
import type { SecretBox } from './secret-box.ts';

export type UnitResult = 'in-progress' | 'passed' | 'failed' | 'pending';
/** One try of a unit ends like its unit, or cancelled (by the operator or a stopped line): a cancel is not a failure. */
export type AttemptResult = UnitResult | 'cancelled';
/** Where the unit's cloud credentials are: none yet, held by the station, written to the unit, or owed to it (write when replugged). */
export type CredentialsState = 'none' | 'held' | 'written' | 'pending';

/**
 * A unit's cloud credentials as the station keeps them, with the cloud that
 * issued them (CloudAdapter.account): they are only ever sent back to it.
 * `account` is undefined only for credentials a station stored before it
 * recorded where they came from.
 */
export interface HeldCredentials {
  thingId: string;
  apiKey: string;
  account: string | undefined;
}

/**
 * The most of a failure's text a record keeps (as much as a screen shows):
 * its start and its last part, where the hint is. Text comes from devices,
 * clouds and the OS, and a record is read back into every History page and
 * export.
 */
export const RECORDED_TEXT_MAX = 4000;
const recorded = (text: string | undefined): string | null => (text === undefined ? null : fitText(text, RECORDED_TEXT_MAX, 1000));

/** Set once every unit's credentials name the cloud that issued them (its value: the cloud the older ones were stamped with, or "unknown"). */
const CREDENTIALS_STAMPED_SETTING = 'credentials-account-stamped';

const heldCredentialsSchema = z.object({ thingId: z.string(), apiKey: z.string(), account: z.string().optional() }).strip();
export type StepStatus = 'started' | 'done' | 'failed' | 'skipped';
export type OutboxState = 'pending' | 'in-flight' | 'done' | 'failed';

export interface UnitRecord {
  id: number;
  serial: string;
  port: string;
  result: UnitResult;
  currentStep: string | undefined;
  failedStep: string | undefined;
  error: string | undefined;
  thingId: string | undefined;
  versionId: string | undefined;
  credentialsState: CredentialsState;
  startedAt: number;
  finishedAt: number | undefined;
}

/**
 * One try of a unit on the line. A unit (its serial number) may be tried
 * several times: a retry, a unit plugged in again, a line restarted. The
 * journal keeps every try; yields and History are made from them.
 */
export interface AttemptRecord {
  id: number;
  /** The engine's record the attempt ran on (credentials, outbox, steps). */
  unitId: number;
  serial: string;
  /** 1 for the unit's first attempt at this station, 2 for its second… */
  number: number;
  port: string;
  /** The port's slot name on the line when the attempt ran. */
  slot: string | undefined;
  result: AttemptResult;
  failedStep: string | undefined;
  error: string | undefined;
  thingId: string | undefined;
  versionId: string | undefined;
  /** Where the unit's credentials are now (the record's, not this try's). */
  credentialsState: CredentialsState;
  startedAt: number;
  finishedAt: number | undefined;
  /** Who ran it (signed in on the screen, or `station run --operator`). */
  operator: string | undefined;
  /** The station it ran on (the line's stationId, else the host name). */
  stationId: string | undefined;
  /** SHA-256 of the line configuration it ran with, secrets replaced by a marker (config-hash.ts). */
  configHash: string | undefined;
  /** SHA-256 of the firmware image it was flashed with (or already had, when the station knew the image). */
  firmwareSha256: string | undefined;
  /** The values its label was printed with (serial, thingId, date…): what a reprint prints again. */
  label: Record<string, string> | undefined;
  /** Why its label was not printed; undefined once it was. */
  labelProblem: string | undefined;
}

/** Who, where and with what an attempt runs: recorded when it starts (traceability). */
export interface AttemptTrace {
  /** The port's slot name on the line. */
  slot?: string;
  operator?: string;
  stationId?: string;
  configHash?: string;
}

export interface AttemptFilter {
  /** One attempt, by its id. */
  id?: number;
  serial?: string;
  /** Part of a serial number, as a technician types it. */
  serialContains?: string;
  result?: AttemptResult;
  /** Port path or slot name, exactly. */
  port?: string;
  /** Attempts started at or after (epoch ms). */
  from?: number;
  /** Attempts started before (epoch ms). */
  to?: number;
  limit?: number;
  /** Newest first (History) or oldest first (the line's figures). */
  order?: 'newest' | 'oldest';
}

export interface OutboxEntry {
  id: number;
  unitId: number;
  serial: string;
  seq: number;
  backend: string;
  /** The cloud the call was made for (CloudAdapter.account); undefined for calls an older station queued. */
  account: string | undefined;
  call: string;
  payload: Record<string, unknown>;
  state: OutboxState;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | undefined;
}

export interface StepEvent {
  unitId: number;
  step: string;
  status: StepStatus;
  at: number;
  durationMs: number | undefined;
  detail: string | undefined;
}

/** 1: units as records rewritten by a retry; 2: every try of a unit kept as an attempt; 3: attempts traceable (operator, station, configuration, firmware, label); 4: each attempt's own firmware version. */
export const SCHEMA_VERSION = 5;

const SCHEMA = `
CREATE TABLE units (
  id INTEGER PRIMARY KEY,
  serial TEXT NOT NULL,
  port TEXT NOT NULL,
  result TEXT NOT NULL CHECK (result IN ('in-progress','passed','failed','pending')),
  current_step TEXT,
  failed_step TEXT,
  error TEXT,
  thing_id TEXT,
  version_id TEXT,
  credentials BLOB,
  credentials_state TEXT NOT NULL DEFAULT 'none' CHECK (credentials_state IN ('none','held','written','pending')),
  started_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX units_serial ON units(serial);
CREATE INDEX units_result ON units(result);
CREATE TABLE step_events (
  id INTEGER PRIMARY KEY,
  unit_id INTEGER NOT NULL REFERENCES units(id),
  step TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('started','done','failed','skipped')),
  at INTEGER NOT NULL,
  duration_ms INTEGER,
  detail TEXT
);
CREATE INDEX step_events_unit ON step_events(unit_id);
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  unit_id INTEGER NOT NULL REFERENCES units(id),
  seq INTEGER NOT NULL,
  backend TEXT NOT NULL,
  call TEXT NOT NULL,
  payload BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','in-flight','done','failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  done_at INTEGER,
  UNIQUE (unit_id, seq)
);
CREATE INDEX outbox_state ON outbox(state, next_attempt_at);
${OUTBOX_ACCOUNT_COLUMN}
${ATTEMPTS_SCHEMA}
${ATTEMPTS_TRACE_COLUMNS}
${ATTEMPTS_VERSION_COLUMN}
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE firmware_cache (
  version_key TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  path TEXT NOT NULL,
  fetched_at INTEGER NOT NULL
);
`;

type Row = Record<string, unknown>;
/** Outbox calls queued by an older station under the cloud adapter's names, read under the pipeline's. */
const LEGACY_CALLS: Record<string, string> = { confirmVersion: 'confirm' };
/** Outbox rows with their unit's serial number, in one query. */
const OUTBOX_SELECT = 'SELECT o.*, u.serial AS serial FROM outbox o JOIN units u ON u.id = o.unit_id';
const text = (value: unknown) => (value === null || value === undefined ? undefined : String(value));

/**
 * The station's durable record. Every method is one committed transaction
 * (WAL, synchronous=FULL), so a state change is on disk before the caller
 * takes the next side effect, and a restart after kill -9 sees exactly what
 * was done. Secrets (credentials, outbox payloads) are sealed with the
 * SecretBox, bound to their row.
 */
export class Journal {
  private readonly db: DatabaseSync;
  private readonly box: SecretBox;
  private readonly now: () => number;
  private readonly path: string;
  /**
   * Each query prepared once and kept: a statement prepared per call holds
   * native memory V8 cannot see until a collection finalizes it, so a long
   * outbox replay grew with the number of calls made.
   */
  private readonly statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync, box: SecretBox, now: () => number, path: string) {
    this.db = db;
    this.box = box;
    this.now = now;
    this.path = path;
  }

  static open(path: string, box: SecretBox, options: { now?: () => number } = {}): Journal {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // SQLite gives its -wal and -shm files the database file's mode: create it owner-only first.
      createPrivateFile(path);
    }
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
      const version = Number((db.prepare('PRAGMA user_version').get() as Row).user_version);
      if (version === 0) {
        db.exec(`BEGIN; ${SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
      } else if (version !== SCHEMA_VERSION) {
        migrateJournal(db, version, SCHEMA_VERSION, path);
      }
      return new Journal(db, box, options.now ?? Date.now, path);
    } catch (error) {
      db?.close();
      throw journalFailure(error, path);
    }
  }

  /**
   * Opens an existing journal to read it (history, outbox list) without
   * creating anything; undefined when the folder has none yet. Readers do not
   * need the folder's lock: a running station may keep writing meanwhile.
   */
  static openExisting(path: string, box: SecretBox): Journal | undefined {
    if (!existsSync(path)) return undefined;
    try {
      let db = new DatabaseSync(path, { readOnly: true });
      db.exec('PRAGMA busy_timeout = 5000;');
      const version = Number((db.prepare('PRAGMA user_version').get() as Row).user_version);
      if (version !== SCHEMA_VERSION) {
        // Written by an older station: upgraded first (one transaction), then read.
        db.close();
        upgradeInPlace(path, version);
        db = new DatabaseSync(path, { readOnly: true });
        db.exec('PRAGMA busy_timeout = 5000;');
      }
      return new Journal(db, box, Date.now, path);
    } catch (error) {
      throw journalFailure(error, path);
    }
  }

  close(): void {
    this.db.close();
  }

  /** A unit's record and its first attempt. */
  startUnit(serial: string, port: string, trace: AttemptTrace = {}): UnitRecord {
    const id = this.transaction(() => {
      const now = this.now();
      const result = this.sql("INSERT INTO units (serial, port, result, started_at) VALUES (?, ?, 'in-progress', ?)").run(serial, port, now);
      const unitId = Number(result.lastInsertRowid);
      this.insertAttempt(unitId, port, trace, now);
      return unitId;
    });
    return this.unit(id)!;
  }

  /**
   * Another try of a unit on its record (a unit plugged in again to finish):
   * a new attempt, unless its last one never ended (the station stopped
   * mid-way), which the restart continues rather than counting it twice.
   */
  startAttempt(unitId: number, port: string, trace: AttemptTrace = {}): void {
    this.transaction(() => {
      const last = this.sql('SELECT id, result FROM attempts WHERE unit_id = ? ORDER BY id DESC LIMIT 1').get(unitId) as Row | undefined;
      if (last?.result === 'in-progress') {
        this.sql('UPDATE attempts SET port = ?, slot = ?, operator = ?, station_id = ?, config_hash = ? WHERE id = ?').run(
          port,
          trace.slot ?? null,
          trace.operator ?? null,
          trace.stationId ?? null,
          trace.configHash ?? null,
          Number(last.id),
        );
      } else this.insertAttempt(unitId, port, trace, this.now());
    });
  }

  /** A failed unit tried again on its own record (and its credentials): in progress again, as a new attempt; the failed one stays. */
  retryUnit(unitId: number, port: string, trace: AttemptTrace = {}): void {
    this.transaction(() => {
      this.sql("UPDATE units SET result = 'in-progress', failed_step = NULL, error = NULL, finished_at = NULL WHERE id = ?").run(unitId);
      this.startAttempt(unitId, port, trace);
    });
  }

  /** The firmware the unit's current attempt flashed (or found already installed), by its SHA-256. Its version is set with setCloudIds. */
  setAttemptFirmware(unitId: number, sha256: string): void {
    this.sql('UPDATE attempts SET firmware_sha256 = ? WHERE id = (SELECT MAX(id) FROM attempts WHERE unit_id = ?)').run(sha256, unitId);
  }

  /** The label the unit's current attempt was given, and why it was not printed (undefined: printed). Returns the attempt's id. */
  recordLabel(unitId: number, values: Record<string, string>, problem?: string): number {
    return this.transaction(() => {
      const row = this.sql('SELECT MAX(id) AS id FROM attempts WHERE unit_id = ?').get(unitId) as Row;
      const id = Number(row.id);
      this.sql('UPDATE attempts SET label = ?, label_problem = ? WHERE id = ?').run(JSON.stringify(values), recorded(problem), id);
      return id;
    });
  }

  /** An attempt's label went to the printer after all (a reprint), or failed again and why. */
  setLabelProblem(attemptId: number, problem: string | undefined): void {
    this.sql('UPDATE attempts SET label_problem = ? WHERE id = ?').run(recorded(problem), attemptId);
  }

  /** The id of a unit's newest attempt. */
  currentAttempt(unitId: number): number | undefined {
    const row = this.sql('SELECT MAX(id) AS id FROM attempts WHERE unit_id = ?').get(unitId) as Row;
    return row.id === null ? undefined : Number(row.id);
  }

  /** One attempt, by its id. */
  attempt(id: number): AttemptRecord | undefined {
    return this.attempts({ id, limit: 1 })[0];
  }

  /** Every try of units, with the try's number for its unit (by serial number), filtered as History asks. */
  attempts(filter: AttemptFilter = {}): AttemptRecord[] {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.id !== undefined) {
      where.push('id = ?');
      params.push(filter.id);
    }
    if (filter.serial !== undefined) {
      where.push('serial = ?');
      params.push(filter.serial);
    }
    if (filter.serialContains) {
      // A technician searches with part of a serial number; LIKE's wildcards in it are taken literally.
      where.push("serial LIKE ? ESCAPE '\\'");
      params.push(`%${filter.serialContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (filter.result !== undefined) {
      where.push('result = ?');
      params.push(filter.result);
    }
    if (filter.port !== undefined) {
      where.push('(port = ? OR slot = ?)');
      params.push(filter.port, filter.port);
    }
    if (filter.from !== undefined) {
      where.push('started_at >= ?');
      params.push(filter.from);
    }
    if (filter.to !== undefined) {
      where.push('started_at < ?');
      params.push(filter.to);
    }
    // Numbered over every attempt before filtering: a unit's second try stays its second in any view.
    const rows = this.sql(
      `WITH numbered AS (
         SELECT a.*, u.serial AS serial, u.thing_id AS thing_id, u.credentials_state AS credentials_state,
                ROW_NUMBER() OVER (PARTITION BY CASE WHEN u.serial = '' THEN 'record:' || u.id ELSE u.serial END ORDER BY a.id) AS number
         FROM attempts a JOIN units u ON u.id = a.unit_id)
       SELECT * FROM numbered ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY id ${filter.order === 'oldest' ? 'ASC' : 'DESC'} LIMIT ?`,
    ).all(...params, filter.limit ?? 1000) as Row[];
    return rows.map(toAttempt);
  }

  private insertAttempt(unitId: number, port: string, trace: AttemptTrace, at: number): void {
    this.sql("INSERT INTO attempts (unit_id, port, slot, operator, station_id, config_hash, result, started_at) VALUES (?, ?, ?, ?, ?, ?, 'in-progress', ?)").run(
      unitId,
      port,
      trace.slot ?? null,
      trace.operator ?? null,
      trace.stationId ?? null,
      trace.configHash ?? null,
      at,
    );
  }

  unit(id: number): UnitRecord | undefined {
    const row = this.sql('SELECT * FROM units WHERE id = ?').get(id) as Row | undefined;
    return row ? toUnit(row) : undefined;
  }

  /** Units a crash left half-done: the restart decides what to redo. */
  unitsInProgress(): UnitRecord[] {
    return (this.sql("SELECT * FROM units WHERE result = 'in-progress' ORDER BY id").all() as Row[]).map(toUnit);
  }

  /** The newest record of a serial number, if any. */
  latestUnit(serial: string): UnitRecord | undefined {
    const row = this.sql('SELECT * FROM units WHERE serial = ? ORDER BY id DESC LIMIT 1').get(serial) as Row | undefined;
    return row ? toUnit(row) : undefined;
  }

  /**
   * The record a unit plugged in again continues from (its state, the
   * credentials held for it): its newest, passing over records of times it
   * was refused at identify (the wrong unit on the port for a retry, its
   * serial at work on another port), which hold nothing of it and would
   * hide the credentials the station holds.
   */
  unitToResume(serial: string): UnitRecord | undefined {
    const row = this.sql(
      `SELECT * FROM units WHERE serial = ?
         AND NOT (result = 'failed' AND failed_step = 'identify' AND credentials IS NULL)
       ORDER BY id DESC LIMIT 1`,
    ).get(serial) as Row | undefined;
    return row ? toUnit(row) : undefined;
  }

  /** History, newest first. */
  units(filter: { serial?: string; serialContains?: string; limit?: number } = {}): UnitRecord[] {
    const limit = filter.limit ?? 1000;
    // A technician searches with part of a serial number; LIKE's wildcards in it are taken literally.
    const pattern = filter.serialContains ? `%${filter.serialContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined;
    const rows = filter.serial
      ? this.sql('SELECT * FROM units WHERE serial = ? ORDER BY id DESC LIMIT ?').all(filter.serial, limit)
      : pattern
        ? this.sql("SELECT * FROM units WHERE serial LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT ?").all(pattern, limit)
        : this.sql('SELECT * FROM units ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as Row[]).map(toUnit);
  }

  recordStep(unitId: number, step: string, status: StepStatus, extra: { durationMs?: number; detail?: string } = {}): void {
    this.transaction(() => {
      this.sql('INSERT INTO step_events (unit_id, step, status, at, duration_ms, detail) VALUES (?, ?, ?, ?, ?, ?)').run(unitId, step, status, this.now(), extra.durationMs ?? null, recorded(extra.detail));
      this.sql('UPDATE units SET current_step = ? WHERE id = ?').run(step, unitId);
    });
  }

  stepEvents(unitId: number): StepEvent[] {
    return (this.sql('SELECT * FROM step_events WHERE unit_id = ? ORDER BY id').all(unitId) as Row[]).map((row) => ({
      unitId: Number(row.unit_id),
      step: String(row.step),
      status: row.status as StepStatus,
      at: Number(row.at),
      durationMs: row.duration_ms === null ? undefined : Number(row.duration_ms),
      detail: text(row.detail),
    }));
  }

  /** The unit's cloud ids; the version it goes for is its current attempt's too, from then on (History shows it while the attempt runs, and after a crash). */
  setCloudIds(unitId: number, ids: { thingId?: string; versionId?: string }): void {
    this.transaction(() => {
      this.sql('UPDATE units SET thing_id = COALESCE(?, thing_id), version_id = COALESCE(?, version_id) WHERE id = ?').run(ids.thingId ?? null, ids.versionId ?? null, unitId);
      if (ids.versionId !== undefined) this.sql('UPDATE attempts SET version_id = ? WHERE id = (SELECT MAX(id) FROM attempts WHERE unit_id = ?)').run(ids.versionId, unitId);
    });
  }

  storeCredentials(unitId: number, credentials: HeldCredentials, state: CredentialsState): void {
    this.sql('UPDATE units SET credentials = ?, credentials_state = ?, thing_id = ? WHERE id = ?').run(this.sealCredentials(unitId, credentials), state, credentials.thingId, unitId);
  }

  private sealCredentials(unitId: number, { thingId, apiKey, account }: HeldCredentials): Buffer {
    return this.box.seal(JSON.stringify({ thingId, apiKey, ...(account === undefined ? {} : { account }) }), `unit:${unitId}:credentials`);
  }

  credentials(unitId: number): HeldCredentials | undefined {
    const row = this.sql('SELECT credentials FROM units WHERE id = ?').get(unitId) as Row | undefined;
    if (!row?.credentials) return undefined;
    const parsed = heldCredentialsSchema.safeParse(jsonOrUndefined(this.box.open(row.credentials as Uint8Array, `unit:${unitId}:credentials`)));
    if (!parsed.success) throw new StationError('SECRET_UNREADABLE', `the credentials stored for unit record ${unitId} are damaged`, { hint: 'Retry the unit from the start: it gets new credentials from the cloud.' });
    return { thingId: parsed.data.thingId, apiKey: parsed.data.apiKey, account: parsed.data.account };
  }

  /** Whether the cloud of credentials stored before the station recorded it has been decided (stampCredentialsAccount ran). */
  credentialsAccountDecided(): boolean {
    return this.setting(CREDENTIALS_STAMPED_SETTING) !== undefined;
  }

  /**
   * Seals `account` into every unit's credentials stored before the station
   * recorded which cloud issued them, once per journal: from then on they go
   * only to that cloud. Undefined (the cloud is not known) decides to leave
   * them as they are, also once. Credentials that cannot be read are left as
   * they are. Returns how many were stamped.
   */
  stampCredentialsAccount(account: string | undefined): number {
    if (this.credentialsAccountDecided()) return 0;
    if (account === undefined) {
      this.setSetting(CREDENTIALS_STAMPED_SETTING, 'unknown');
      return 0;
    }
    let stamped = 0;
    this.transaction(() => {
      for (const row of this.sql('SELECT id FROM units WHERE credentials IS NOT NULL').all() as Row[]) {
        const unitId = Number(row.id);
        let held: HeldCredentials | undefined;
        try {
          held = this.credentials(unitId);
        } catch {
          continue;
        }
        if (!held || held.account !== undefined) continue;
        this.sql('UPDATE units SET credentials = ? WHERE id = ?').run(this.sealCredentials(unitId, { ...held, account }), unitId);
        stamped++;
      }
      this.setSetting(CREDENTIALS_STAMPED_SETTING, account);
    });
    return stamped;
  }

  setCredentialsState(unitId: number, state: CredentialsState): void {
    this.sql('UPDATE units SET credentials_state = ? WHERE id = ?').run(state, unitId);
  }

  /**
   * A unit's result, on its record and its last attempt. A cancelled unit's
   * record is failed (it may be retried) while its attempt says cancelled. An
   * attempt that already ended (passed with calls in the outbox) takes the
   * result its calls brought, keeping when it left the line.
   */
  finishUnit(unitId: number, result: Exclude<UnitResult, 'in-progress'>, failure: { step?: string; error?: string; cancelled?: boolean } = {}): void {
    this.transaction(() => {
      const now = this.now();
      this.sql('UPDATE units SET result = ?, failed_step = ?, error = ?, finished_at = ? WHERE id = ?').run(result, failure.step ?? null, recorded(failure.error), now, unitId);
      const attemptResult: AttemptResult = failure.cancelled && result === 'failed' ? 'cancelled' : result;
      this.sql(
        `UPDATE attempts SET result = ?, failed_step = ?, error = ?, finished_at = COALESCE(finished_at, ?)
         WHERE id = (SELECT MAX(id) FROM attempts WHERE unit_id = ?)`,
      ).run(attemptResult, failure.step ?? null, recorded(failure.error), now, unitId);
    });
  }

  /** Queues a cloud call for later, after the unit's earlier calls (order per unit is kept). */
  /** A cloud call queued for the unit, for `account`'s cloud (undefined only where no cloud is known, as for calls older stations queued). */
  enqueue(unitId: number, backend: string, call: string, payload: Record<string, unknown>, account?: string): OutboxEntry {
    return this.transaction(() => {
      const seq = Number((this.sql('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM outbox WHERE unit_id = ?').get(unitId) as Row).next);
      const sealed = this.box.seal(JSON.stringify(payload), `outbox:${unitId}:${seq}`);
      const now = this.now();
      const result = this.sql("INSERT INTO outbox (unit_id, seq, backend, account, call, payload, state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)").run(unitId, seq, backend, account ?? null, call, sealed, now, now);
      return this.outboxEntry(Number(result.lastInsertRowid))!;
    });
  }

  /**
   * The calls due now: for each unit only its first unfinished call, so a
   * unit's calls replay in order; a unit whose head call is in flight waits.
   */
  dueOutbox(limit = 100): OutboxEntry[] {
    const rows = this.sql(
      `${OUTBOX_SELECT}
         WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND u.result != 'in-progress'
           AND o.seq = (SELECT MIN(seq) FROM outbox WHERE unit_id = o.unit_id AND state IN ('pending','in-flight'))
         ORDER BY o.next_attempt_at, o.id LIMIT ?`,
    ).all(this.now(), limit) as Row[];
    return rows.map((row) => this.toOutbox(row));
  }

  outboxEntry(id: number): OutboxEntry | undefined {
    const row = this.sql(`${OUTBOX_SELECT} WHERE o.id = ?`).get(id) as Row | undefined;
    return row ? this.toOutbox(row) : undefined;
  }

  /**
   * One page of the calls not yet done (waiting, in flight or failed), oldest
   * first, for "station outbox list": at most `limit` after the id `afterId`.
   * The next page starts after the last id of this one; an empty page is the end.
   */
  outboxEntries(page: { afterId?: number; limit?: number } = {}): OutboxEntry[] {
    return (this.sql(`${OUTBOX_SELECT} WHERE o.id > ? AND o.state != 'done' ORDER BY o.id LIMIT ?`).all(page.afterId ?? 0, page.limit ?? 1000) as Row[]).map((row) => this.toOutbox(row));
  }

  /** Calls a crash interrupted: sent or not, nobody knows; the replayer decides per call whether repeating is safe. */
  inFlightOutbox(): OutboxEntry[] {
    return (this.sql(`${OUTBOX_SELECT} WHERE o.state = 'in-flight' ORDER BY o.id`).all() as Row[]).map((row) => this.toOutbox(row));
  }

  /** The calls of this unit the replayer is sending right now (claimed, not yet answered). */
  callsInFlight(unitId: number): string[] {
    return (this.sql("SELECT call FROM outbox WHERE unit_id = ? AND state = 'in-flight' ORDER BY seq").all(unitId) as Row[]).map((row) => String(row.call));
  }

  outboxCounts(): Record<OutboxState, number> {
    const counts: Record<OutboxState, number> = { pending: 0, 'in-flight': 0, done: 0, failed: 0 };
    for (const row of this.sql('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state').all() as Row[]) counts[row.state as OutboxState] = Number(row.n);
    return counts;
  }

  /**
   * Takes a waiting call for sending, committed before it is sent. Only one
   * caller can take it (a second replayer finds it no longer pending): false
   * means someone else has it.
   */
  claimOutbox(id: number): boolean {
    return this.sql("UPDATE outbox SET state = 'in-flight', attempts = attempts + 1 WHERE id = ? AND state = 'pending'").run(id).changes === 1;
  }

  markDone(id: number): void {
    this.sql("UPDATE outbox SET state = 'done', done_at = ?, last_error = NULL WHERE id = ?").run(this.now(), id);
  }

  /**
   * Records a replayed call's result and marks it done in one transaction: a
   * crash can never leave a result recorded but the call still due (and so
   * repeated), nor the call done but its result (an activation's key) lost.
   */
  completeOutbox(entry: OutboxEntry, activated?: HeldCredentials): void {
    this.transaction(() => {
      if (activated) this.storeCredentials(entry.unitId, activated, 'pending');
      this.markDone(entry.id);
    });
  }

  /**
   * A unit activated with another cloud than the one some of its calls were
   * queued for: those calls (still waiting) are dropped, saying why. They
   * carry what the old cloud issued, and would hold the unit's later calls
   * behind them for ever.
   */
  dropOtherCloudCalls(unitId: number, account: string, reason: string): number {
    return Number(
      this.sql("UPDATE outbox SET state = 'failed', last_error = ?, done_at = ? WHERE unit_id = ? AND state = 'pending' AND account IS NOT NULL AND account != ?").run(recorded(reason), this.now(), unitId, account).changes,
    );
  }

  /** A unit that failed takes its queued calls back: it will start over, and nobody would receive what they produce. */
  cancelOutbox(unitId: number, reason: string): void {
    this.sql("UPDATE outbox SET state = 'failed', last_error = ?, done_at = ? WHERE unit_id = ? AND state = 'pending'").run(recorded(reason), this.now(), unitId);
  }

  /** "Replay now": every waiting call becomes due at once, whatever its back-off said. */
  makeAllDue(): void {
    this.sql("UPDATE outbox SET next_attempt_at = ? WHERE state = 'pending'").run(this.now());
  }

  /** Calls of this unit still waiting or in flight. */
  unfinishedOutbox(unitId: number): number {
    return Number((this.sql("SELECT COUNT(*) AS n FROM outbox WHERE unit_id = ? AND state IN ('pending','in-flight')").get(unitId) as Row).n);
  }

  /** After a crash: calls that were in flight go back to the queue (every queued call is safe to send again). */
  requeueInFlight(): number {
    return Number(this.sql("UPDATE outbox SET state = 'pending' WHERE state = 'in-flight'").run().changes);
  }

  markRetry(id: number, error: string, nextAttemptAt: number): void {
    this.sql("UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_at = ? WHERE id = ?").run(recorded(error), nextAttemptAt, id);
  }

  markFailed(id: number, error: string): void {
    this.sql("UPDATE outbox SET state = 'failed', last_error = ?, done_at = ? WHERE id = ?").run(recorded(error), this.now(), id);
  }

  cacheFirmware(entry: { versionKey: string; sha256: string; size: number; path: string }): void {
    this.sql('INSERT INTO firmware_cache (version_key, sha256, size, path, fetched_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(version_key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, path = excluded.path, fetched_at = excluded.fetched_at').run(entry.versionKey, entry.sha256, entry.size, entry.path, this.now());
  }

  cachedFirmware(versionKey: string): { sha256: string; size: number; path: string } | undefined {
    const row = this.sql('SELECT sha256, size, path FROM firmware_cache WHERE version_key = ?').get(versionKey) as Row | undefined;
    return row ? { sha256: String(row.sha256), size: Number(row.size), path: String(row.path) } : undefined;
  }

  /** Whether any cached firmware is keyed under `prefix` followed by an id. */
  hasFirmwareKeyedUnder(prefix: string): boolean {
    return this.sql('SELECT 1 FROM firmware_cache WHERE substr(version_key, 1, ?) = ? LIMIT 1').get(prefix.length, prefix) !== undefined;
  }

  /** Every cached firmware entry: its key and the hash that names its file (one per version ever fetched). */
  cachedFirmwareEntries(): Array<{ versionKey: string; sha256: string }> {
    return (this.sql('SELECT version_key, sha256 FROM firmware_cache').all() as Row[]).map((row) => ({ versionKey: String(row.version_key), sha256: String(row.sha256) }));
  }

  /**
   * Cached firmware keyed under `from` followed by an id, re-keyed under `to`
   * and the same id, or forgotten when `to` is undefined (an entry already
   * under the new key wins). Returns how many were re-keyed.
   */
  rekeyFirmware(from: string, to: string | undefined): number {
    return this.transaction(() => {
      const moved = to === undefined ? 0 : Number(this.sql('UPDATE OR IGNORE firmware_cache SET version_key = ? || substr(version_key, ?) WHERE substr(version_key, 1, ?) = ?').run(to, from.length + 1, from.length, from).changes);
      this.sql('DELETE FROM firmware_cache WHERE substr(version_key, 1, ?) = ?').run(from.length, from);
      return moved;
    });
  }

  forgetFirmware(versionKey: string): void {
    this.sql('DELETE FROM firmware_cache WHERE version_key = ?').run(versionKey);
  }

  /** Small durable facts (the last known target version, a Fleet Freedom ghostId…). */
  setting(key: string): string | undefined {
    const row = this.sql('SELECT value FROM settings WHERE key = ?').get(key) as Row | undefined;
    return text(row?.value);
  }

  setSetting(key: string, value: string): void {
    this.sql('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  deleteSetting(key: string): void {
    this.sql('DELETE FROM settings WHERE key = ?').run(key);
  }

  /** A setting that may hold secrets (the line configuration), sealed like credentials. */
  secretSetting(key: string): string | undefined {
    const sealed = this.setting(`sealed:${key}`);
    return sealed === undefined ? undefined : this.box.open(Buffer.from(sealed, 'base64'), `setting:${key}`);
  }

  setSecretSetting(key: string, value: string): void {
    this.setSetting(`sealed:${key}`, this.box.seal(value, `setting:${key}`).toString('base64'));
  }

  /** A prepared statement whose failures name the journal file and what to do (disk full, read-only, damaged). */
  private sql(query: string): { run(...params: SQLInputValue[]): StatementResultingChanges; get(...params: SQLInputValue[]): unknown; all(...params: SQLInputValue[]): unknown[] } {
    let statement = this.statements.get(query);
    if (!statement) {
      const prepared = this.guard(() => this.db.prepare(query));
      this.statements.set(query, prepared);
      statement = prepared;
    }
    return {
      run: (...params) => this.guard(() => statement.run(...params)),
      get: (...params) => this.guard(() => statement.get(...params)),
      all: (...params) => this.guard(() => statement.all(...params)),
    };
  }

  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw journalFailure(error, this.path);
    }
  }

  private transaction<T>(work: () => T): T {
    // Inside another transaction: part of it.
    if (this.db.isTransaction) return work();
    this.guard(() => this.db.exec('BEGIN IMMEDIATE'));
    try {
      const result = work();
      this.guard(() => this.db.exec('COMMIT'));
      return result;
    } catch (error) {
      // SQLite may already have rolled back (a full disk does that): a second ROLLBACK would hide the real error.
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  private toOutbox(row: Row): OutboxEntry {
    const unitId = Number(row.unit_id);
    const seq = Number(row.seq);
    return {
      id: Number(row.id),
      unitId,
      serial: String(row.serial),
      seq,
      backend: String(row.backend),
      account: text(row.account),
      call: LEGACY_CALLS[String(row.call)] ?? String(row.call),
      payload: JSON.parse(this.box.open(row.payload as Uint8Array, `outbox:${unitId}:${seq}`)) as Record<string, unknown>,
      state: row.state as OutboxState,
      attempts: Number(row.attempts),
      nextAttemptAt: Number(row.next_attempt_at),
      lastError: text(row.last_error),
    };
  }
}

function toAttempt(row: Row): AttemptRecord {
  return {
    id: Number(row.id),
    unitId: Number(row.unit_id),
    serial: String(row.serial),
    number: Number(row.number),
    port: String(row.port),
    slot: text(row.slot),
    result: row.result as AttemptResult,
    failedStep: text(row.failed_step),
    error: text(row.error),
    thingId: text(row.thing_id),
    versionId: text(row.version_id),
    credentialsState: row.credentials_state as CredentialsState,
    startedAt: Number(row.started_at),
    finishedAt: row.finished_at === null ? undefined : Number(row.finished_at),
    operator: text(row.operator),
    stationId: text(row.station_id),
    configHash: text(row.config_hash),
    firmwareSha256: text(row.firmware_sha256),
    label: row.label === null || row.label === undefined ? undefined : (JSON.parse(String(row.label)) as Record<string, string>),
    labelProblem: text(row.label_problem),
  };
}

/** A reader (history, outbox list) of a journal an older station wrote upgrades it first: the upgrade is one transaction. */
function upgradeInPlace(path: string, version: number): void {
  const db = new DatabaseSync(path);
  try {
    db.exec('PRAGMA busy_timeout = 5000;');
    migrateJournal(db, version, SCHEMA_VERSION, path);
  } finally {
    db.close();
  }
}

function toUnit(row: Row): UnitRecord {
  return {
    id: Number(row.id),
    serial: String(row.serial),
    port: String(row.port),
    result: row.result as UnitResult,
    currentStep: text(row.current_step),
    failedStep: text(row.failed_step),
    error: text(row.error),
    thingId: text(row.thing_id),
    versionId: text(row.version_id),
    credentialsState: row.credentials_state as CredentialsState,
    startedAt: Number(row.started_at),
    finishedAt: row.finished_at === null ? undefined : Number(row.finished_at),
  };
}

/** SQLite's primary result codes the station explains (https://sqlite.org/rescode.html). */
const SQLITE = { BUSY: 5, LOCKED: 6, READONLY: 8, IOERR: 10, CORRUPT: 11, FULL: 13, CANTOPEN: 14, NOTADB: 26 } as const;

/** A SQLite failure in words a technician can act on, naming the journal file; anything else passes through. */
export function journalFailure(error: unknown, path: string): unknown {
  if (error instanceof StationError) return error;
  const errcode = (error as { errcode?: unknown }).errcode;
  if (typeof errcode !== 'number') return error;
  const folder = dirname(path);
  const failure = (code: string, message: string, hint: string) => new StationError(code, message, { hint, cause: error });
  switch (errcode & 0xff) {
    case SQLITE.FULL:
      return failure('JOURNAL_DISK_FULL', `the journal ${path} could not be written: the disk holding ${folder} is full`, `Free space on that disk (old firmware in ${folder}/firmware may be deleted), then retry.`);
    case SQLITE.READONLY:
      return failure('JOURNAL_READ_ONLY', `the journal ${path} cannot be written (read-only)`, `Let this user write to ${folder} and the files in it, or use another --data-dir.`);
    case SQLITE.CANTOPEN:
      return failure('JOURNAL_CANNOT_OPEN', `the journal ${path} cannot be opened`, `Check that ${folder} exists and that this user may read and write it, or use another --data-dir.`);
    case SQLITE.CORRUPT:
    case SQLITE.NOTADB:
      return failure('JOURNAL_DAMAGED', `the journal ${path} is damaged or is not a station journal`, `Move it aside (e.g. to journal.sqlite.damaged) and restore it from a backup; without one, the station starts a new, empty journal there.`);
    case SQLITE.IOERR:
      return failure('JOURNAL_IO', `the journal ${path} could not be read or written (I/O error)`, `Check the disk holding ${folder} (dmesg), then retry.`);
    case SQLITE.BUSY:
    case SQLITE.LOCKED:
      return failure('JOURNAL_BUSY', `the journal ${path} stayed locked by another process`, 'Stop the other station process using this data folder, or use another --data-dir.');
    default:
      return error;
  }
}
