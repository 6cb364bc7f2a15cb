import { describe, expect, it } from 'vitest';
import { lineFigures, lineRate } from '../../main/core/desk/line-figures.ts';
import type { AttemptRecord } from '../../main/core/storage/journal.ts';

let nextId = 1;
/** One try: `serial`'s unit on record `unitId`, from `start` to `end` seconds. */
function attempt(serial: string, result: AttemptRecord['result'], start: number, end: number | undefined, unitId = 1): AttemptRecord {
  return {
    id: nextId++,
    unitId,
    serial,
    number: 1,
    port: '/dev/p',
    slot: '1',
    result,
    failedStep: undefined,
    error: undefined,
    thingId: undefined,
    versionId: undefined,
    credentialsState: 'written',
    startedAt: start * 1000,
    finishedAt: end === undefined ? undefined : end * 1000,
    operator: undefined,
    stationId: undefined,
    configHash: undefined,
    firmwareSha256: undefined,
    label: undefined,
    labelProblem: undefined,
  };
}

describe('the line\'s figures, by unit, from the journal\'s attempts', () => {
  it('a failed-then-retried unit is one unit: passed at the end, but not a first pass', () => {
    const figures = lineFigures(
      [
        attempt('A', 'passed', 0, 40),
        attempt('B', 'failed', 0, 30),
        attempt('C', 'passed', 0, 50),
        attempt('D', 'passed', 0, 60),
        attempt('B', 'passed', 35, 70),
      ],
      0,
    );
    expect(figures).toMatchObject({ units: 4, passed: 4, failed: 0, pending: 0, cancelled: 0, firstPassYield: 0.75, finalYield: 1 });
    // Tries lasted 40, 30, 50, 60 and 35 s: the median is 40 s.
    expect(figures.medianSeconds).toBe(40);
  });

  it('a cancel counts as cancelled, not failed; a unit passed offline counts as good; a period starts when it says', () => {
    const attempts = [attempt('A', 'cancelled', 0, 10), attempt('A', 'pending', 12, 50), attempt('B', 'failed', 0, 20), attempt('C', 'passed', 100, 130), attempt('D', 'in-progress', 120, undefined)];
    expect(lineFigures(attempts, 0)).toMatchObject({ units: 3, passed: 1, pending: 1, failed: 1, cancelled: 1, firstPassYield: 2 / 3, finalYield: 2 / 3 });
    expect(lineFigures(attempts, 60_000)).toMatchObject({ units: 1, passed: 1, failed: 0, cancelled: 0, firstPassYield: 1 });
    expect(lineFigures([], 0)).toEqual({ since: 0, units: 0, passed: 0, pending: 0, failed: 0, cancelled: 0 });
  });

  it('units per hour over a rolling window, the warm-up said as such until the window is full', () => {
    const attempts = Array.from({ length: 30 }, (_, i) => attempt(`U${i}`, 'passed', i * 60, i * 60 + 50));
    // 30 s after the start: no rate yet, only a warm-up with what it has.
    expect(lineRate(attempts, 0, 30_000)).toEqual({ windowMinutes: 15, minutesMeasured: 0.5, units: 0, warmingUp: true });
    // 5 minutes in: 5 units finished (at 50, 110, 170, 230, 290 s): 60 an hour, still warming up.
    expect(lineRate(attempts, 0, 300_000)).toEqual({ windowMinutes: 15, minutesMeasured: 5, units: 5, unitsPerHour: 60, warmingUp: true });
    // 30 minutes in: the last 15 minutes hold 15 units.
    expect(lineRate(attempts, 0, 1_800_000)).toMatchObject({ minutesMeasured: 15, units: 15, unitsPerHour: 60, warmingUp: false });
  });
});
