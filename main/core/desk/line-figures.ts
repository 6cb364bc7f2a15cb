import type { LineFigures, LineRate } from '../../../contract/station-contract.ts';
import type { AttemptRecord } from '../storage/journal.ts';

/** How far back units per hour looks. */
export const RATE_WINDOW_MINUTES = 15;
/** Under a minute of work a rate is noise: none is given, only the count. */
const MIN_RATE_MS = 60_000;

/** A unit is its serial number; a unit that failed before saying one is its record. */
const unitOf = (attempt: AttemptRecord) => attempt.serial || `record:${attempt.unitId}`;
const finished = (attempt: AttemptRecord) => attempt.result !== 'in-progress';
const good = (result: AttemptRecord['result']) => result === 'passed' || result === 'pending';

/**
 * A period's figures from the journal's attempts (oldest first), by unit: a
 * unit tried again counts once, at its last result; its first try decides
 * first-pass yield; cancelled tries count for nothing but themselves.
 */
export function lineFigures(attempts: readonly AttemptRecord[], since: number): LineFigures {
  const inPeriod = attempts.filter((attempt) => finished(attempt) && (attempt.finishedAt ?? attempt.startedAt) >= since);
  const units = new Map<string, { first: AttemptRecord['result']; last: AttemptRecord['result'] }>();
  const durations: number[] = [];
  let cancelled = 0;
  for (const attempt of inPeriod) {
    if (attempt.result === 'cancelled') {
      cancelled++;
      continue;
    }
    const unit = units.get(unitOf(attempt));
    if (unit) unit.last = attempt.result;
    else units.set(unitOf(attempt), { first: attempt.result, last: attempt.result });
    if (attempt.finishedAt !== undefined) durations.push(attempt.finishedAt - attempt.startedAt);
  }
  const all = [...units.values()];
  const count = (test: (unit: { first: AttemptRecord['result']; last: AttemptRecord['result'] }) => boolean) => all.filter(test).length;
  const median = medianOf(durations);
  return {
    since,
    units: all.length,
    passed: count((unit) => unit.last === 'passed'),
    pending: count((unit) => unit.last === 'pending'),
    failed: count((unit) => unit.last === 'failed'),
    cancelled,
    ...(all.length > 0 ? { firstPassYield: count((unit) => good(unit.first)) / all.length, finalYield: count((unit) => good(unit.last)) / all.length } : {}),
    ...(median === undefined ? {} : { medianSeconds: Math.round(median / 100) / 10 }),
  };
}

/**
 * Units per hour over the last RATE_WINDOW_MINUTES, counted from `start`
 * (when the line started) while the window is not yet full: the warm-up is
 * said as such, with the units and minutes it has so far.
 */
export function lineRate(attempts: readonly AttemptRecord[], start: number, now: number): LineRate {
  const windowMs = RATE_WINDOW_MINUTES * 60_000;
  const from = Math.max(start, now - windowMs);
  const measuredMs = Math.max(0, now - from);
  const units = new Set(attempts.filter((attempt) => finished(attempt) && attempt.result !== 'cancelled' && (attempt.finishedAt ?? 0) >= from && (attempt.finishedAt ?? 0) <= now).map(unitOf)).size;
  return {
    windowMinutes: RATE_WINDOW_MINUTES,
    minutesMeasured: Math.round(measuredMs / 6_000) / 10,
    units,
    ...(measuredMs >= MIN_RATE_MS && units > 0 ? { unitsPerHour: Math.round((units / measuredMs) * 3_600_000) } : {}),
    warmingUp: measuredMs < windowMs,
  };
}

function medianOf(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
