import type { DatabaseSync } from 'node:sqlite';
import { StationError } from '../errors.ts';

/** Every try of a unit: its own result, failure and times; the unit's record keeps the engine's state (credentials, outbox). */
export const ATTEMPTS_SCHEMA = `
CREATE TABLE attempts (
  id INTEGER PRIMARY KEY,
  unit_id INTEGER NOT NULL REFERENCES units(id),
  port TEXT NOT NULL,
  slot TEXT,
  result TEXT NOT NULL CHECK (result IN ('in-progress','passed','failed','pending','cancelled')),
  failed_step TEXT,
  error TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX attempts_unit ON attempts(unit_id);
CREATE INDEX attempts_started ON attempts(started_at);
`;

/**
 * Traceability (schema 3): who ran each attempt, on which station, with
 * which line configuration (its hash, secrets left out) and which firmware
 * (its SHA-256); and the label it was given (its values, and why it was not
 * printed when it was not). Attempts recorded before have none of these.
 */
export const ATTEMPTS_TRACE_COLUMNS = `
ALTER TABLE attempts ADD COLUMN operator TEXT;
ALTER TABLE attempts ADD COLUMN station_id TEXT;
ALTER TABLE attempts ADD COLUMN config_hash TEXT;
ALTER TABLE attempts ADD COLUMN firmware_sha256 TEXT;
ALTER TABLE attempts ADD COLUMN label TEXT;
ALTER TABLE attempts ADD COLUMN label_problem TEXT;
`;

/**
 * The firmware version each attempt went for (schema 4), its own: History
 * showed the unit's latest instead, so an attempt that failed before it
 * looked up its target showed the version of an earlier one.
 */
export const ATTEMPTS_VERSION_COLUMN = `
ALTER TABLE attempts ADD COLUMN version_id TEXT;
`;

/**
 * The cloud each queued call was made for (schema 5): its account
 * (CloudAdapter.account), so a call never goes to another cloud of the same
 * backend, and waits while the line points elsewhere. Calls queued before
 * have none, and are judged by their backend and the unit's credentials.
 */
export const OUTBOX_ACCOUNT_COLUMN = `
ALTER TABLE outbox ADD COLUMN account TEXT;
`;

/**
 * How a journal written by an older station becomes the current one, a step
 * per schema version. Version 1 kept one record per unit that a retry
 * rewrote: each record becomes the unit's one attempt (the tries a retry
 * overwrote are gone; their last state is kept as it was). Version 2's
 * attempts gain the traceability columns, empty for what was recorded before.
 * Version 3's attempts gain their own firmware version; version 4's queued
 * calls, the cloud they were made for (none for those queued before). Only the unit's
 * version was kept, and each attempt that looked up its target (its
 * target-version step done, recorded in step_events while it ran) overwrote
 * it: so it is the version of the unit's last such attempt, and that attempt
 * gets it. Earlier attempts get none: what they went for was overwritten
 * (reaching the firmware says nothing of which version, the cloud's target
 * may have changed before a retry).
 */
const MIGRATIONS: Record<number, string> = {
  1: `${ATTEMPTS_SCHEMA}
INSERT INTO attempts (unit_id, port, result, failed_step, error, started_at, finished_at)
  SELECT id, port, result, failed_step, error, started_at, finished_at FROM units ORDER BY id;`,
  2: ATTEMPTS_TRACE_COLUMNS,
  3: `${ATTEMPTS_VERSION_COLUMN}
UPDATE attempts SET version_id = (SELECT version_id FROM units WHERE units.id = attempts.unit_id)
  WHERE id IN (
    SELECT MAX(a.id) FROM attempts a
    WHERE EXISTS (
      SELECT 1 FROM step_events e
      WHERE e.unit_id = a.unit_id AND e.step = 'target-version' AND e.status = 'done'
        AND e.at >= a.started_at AND (a.finished_at IS NULL OR e.at <= a.finished_at))
    GROUP BY a.unit_id);`,
  4: OUTBOX_ACCOUNT_COLUMN,
};

/** Brings `db` from schema version `from` to `to` in one transaction: a failure leaves the journal as it was. */
export function migrateJournal(db: DatabaseSync, from: number, to: number, path: string): void {
  if (from > to || MIGRATIONS[from] === undefined) {
    throw new StationError('JOURNAL_VERSION', `the journal ${path} has schema version ${from}; this station understands ${to}`, {
      hint: from > to ? 'It was written by a newer station: use that version, or another --data-dir.' : 'Use the station version that wrote it, or another --data-dir.',
    });
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    for (let version = from; version < to; version++) {
      const step = MIGRATIONS[version];
      if (step === undefined) throw new StationError('JOURNAL_VERSION', `the journal ${path} cannot be upgraded from schema version ${version}`);
      db.exec(step);
    }
    db.exec(`PRAGMA user_version = ${to}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
