import { describe, expect, it } from 'vitest';
import { tileSchema } from '../../contract/station-contract.ts';
import { LineView } from '../../main/core/desk/line-view.ts';
import type { UnitOutcome } from '../../main/core/engine/events.ts';

const PORT = '/dev/ttyUSB0';
const at = (path: string, slot: string) => ({ path, slot });
const outcome = (over: Partial<UnitOutcome>): UnitOutcome => ({
  type: 'unit',
  port: PORT,
  serial: 'SN1',
  result: 'passed',
  failedStep: undefined,
  error: undefined,
  thingId: undefined,
  versionId: undefined,
  steps: {},
  unitId: 1,
  ...over,
});

describe('LineView: what the screens show of a line', () => {
  it('shows the line\'s plan on idle tiles, then exactly the plan the engine published for the unit', () => {
    const view = new LineView();
    view.setPorts([at(PORT, '1')], 'waiting', ['identify', 'register', 'target-version', 'download', 'flash', 'reboot']);
    expect(view.tile(PORT)!.steps.map((entry) => entry.step)).toEqual(['identify', 'register', 'target-version', 'download', 'flash', 'reboot']);
    view.apply({ type: 'plan', port: PORT, serial: undefined, steps: ['identify', 'register', 'flash'] });
    expect(view.tile(PORT)!.steps).toEqual([
      { step: 'identify', state: 'pending' },
      { step: 'register', state: 'pending' },
      { step: 'flash', state: 'pending' },
    ]);
    expect(view.tile(PORT)!.state).toBe('working');
  });

  it('titles tiles by slot and orders them as a person reads slots (A2 before A10), whatever the configured order', () => {
    const view = new LineView();
    view.setPorts([at('/dev/ttyACM0', 'A10'), at('/dev/ttyACM1', 'A2'), at('/dev/ttyACM2', 'B1'), at('/dev/ttyACM3', 'A1')], 'idle');
    expect(view.allTiles().map((tile) => `${tile.slot}=${tile.port}`)).toEqual(['A1=/dev/ttyACM3', 'A2=/dev/ttyACM1', 'A10=/dev/ttyACM0', 'B1=/dev/ttyACM2']);
    // A port found by its USB ids is named by its device file.
    view.apply({ type: 'plan', port: '/dev/ttyUSB7', serial: undefined, steps: ['identify'] });
    expect(view.tile('/dev/ttyUSB7')!.slot).toBe('ttyUSB7');
  });

  it('follows a unit through its steps and its flash progress, and the line\'s progress with it', () => {
    const view = new LineView();
    view.setPorts([at(PORT, '1'), at('/dev/other', '2')], 'waiting', ['identify', 'flash']);
    view.apply({ type: 'plan', port: PORT, serial: undefined, steps: ['identify', 'flash'] });
    view.apply({ type: 'step', port: PORT, serial: undefined, step: 'identify', status: 'started' });
    view.apply({ type: 'step', port: PORT, serial: 'SN1', step: 'identify', status: 'done' });
    view.apply({ type: 'step', port: PORT, serial: 'SN1', step: 'flash', status: 'started' });
    view.apply({ type: 'progress', port: PORT, serial: 'SN1', step: 'flash', bytesDone: 512, total: 1024, bytesPerSecond: 100, secondsLeft: 5 });
    const tile = view.tile(PORT)!;
    expect(tile).toMatchObject({ state: 'working', serial: 'SN1', step: 'flash', progress: { bytesDone: 512, total: 1024 } });
    expect(tile.steps.find((s) => s.step === 'identify')!.state).toBe('done');
    // One port half through its steps, one waiting: a quarter of the line.
    expect(view.progress()).toEqual({ ports: 2, working: 1, done: 0, waiting: 1, attention: 0, fraction: 0.25 });
    view.apply({ type: 'step', port: PORT, serial: 'SN1', step: 'flash', status: 'done' });
    expect(view.tile(PORT)!.progress).toBeUndefined();
    view.apply(outcome({}));
    expect(view.progress()).toMatchObject({ done: 1, working: 0, fraction: 0.5 });
  });

  it('offers the one action that fits the failure: retry, replug, or set aside; a cancel is not a failure', () => {
    const view = new LineView();
    view.apply(outcome({ result: 'failed', failedStep: 'write-credentials', error: 'memory write failed', errorCode: 'DEVICE_ERROR' }));
    expect(view.tile(PORT)).toMatchObject({ state: 'failed', action: 'retry', failure: { step: 'write-credentials', message: 'memory write failed' } });
    view.apply(outcome({ unitId: 2, result: 'failed', failedStep: 'flash', error: 'unplugged', errorCode: 'PORT_DISCONNECTED' }));
    expect(view.tile(PORT)).toMatchObject({ state: 'attention', action: 'replug' });
    view.apply(outcome({ unitId: 3, result: 'failed', failedStep: 'identify', error: 'on two ports', errorCode: 'SERIAL_DUPLICATE' }));
    expect(view.tile(PORT)).toMatchObject({ state: 'attention', action: 'set-aside' });
    view.apply(outcome({ unitId: 4, result: 'failed', failedStep: 'activate', error: 'not registered', errorCode: 'CLOUD_NOT_FOUND' }));
    expect(view.tile(PORT)).toMatchObject({ state: 'failed', action: 'set-aside' });
    view.apply(outcome({ unitId: 5, result: 'failed', failedStep: 'flash', error: 'cancelled', errorCode: 'CANCELLED' }));
    expect(view.tile(PORT)).toMatchObject({ state: 'cancelled', action: 'retry' });
    view.apply({ type: 'plan', port: PORT, serial: undefined, steps: ['identify'] });
    expect(view.tile(PORT)!.action).toBeUndefined();
  });

  it('a port stopped before any unit answered (an empty slot) goes back to idle: no unit, no action, nothing in its list', () => {
    const view = new LineView();
    view.setPorts([at(PORT, '1')], 'waiting', ['identify', 'flash']);
    view.apply({ type: 'plan', port: PORT, serial: undefined, steps: ['identify', 'flash'] });
    view.apply({ type: 'step', port: PORT, serial: undefined, step: 'identify', status: 'started' });
    view.apply({ type: 'step', port: PORT, serial: undefined, step: 'identify', status: 'failed', error: 'cancelled' });
    view.apply(outcome({ serial: undefined, unitId: undefined, result: 'failed', failedStep: 'identify', error: 'cancelled', errorCode: 'CANCELLED' }));
    const tile = view.tile(PORT)!;
    expect(tile.state).toBe('idle');
    expect(tile.steps).toEqual([
      { step: 'identify', state: 'pending' },
      { step: 'flash', state: 'pending' },
    ]);
    for (const key of ['action', 'failure', 'unitId', 'serial', 'startedAt', 'finishedAt'] as const) expect(tile[key], key).toBeUndefined();
    expect(tile.recent).toEqual([]);
    expect(view.progress()).toMatchObject({ working: 0, done: 0, attention: 0 });
  });

  it('lists every try of a retried unit on its tile', () => {
    const view = new LineView();
    view.apply(outcome({ result: 'failed', failedStep: 'flash', error: 'x' }));
    view.apply(outcome({ result: 'passed' }));
    expect(view.tile(PORT)!.recent.map((unit) => unit.result)).toEqual(['passed', 'failed']);
  });

  it('a unit that waited for the cloud becomes passed when its calls went through', () => {
    const view = new LineView();
    view.apply(outcome({ result: 'pending' }));
    expect(view.tile(PORT)).toMatchObject({ state: 'pending', queued: 1 });
    expect(view.settleRecent(1, 'passed')).toBe(PORT);
    expect(view.tile(PORT)).toMatchObject({ state: 'passed', queued: 0 });
  });

  it('a passed unit whose label was not printed says so on its tile, which offers the reprint until it is printed or the next unit starts', () => {
    const view = new LineView();
    view.apply(outcome({ result: 'passed', attemptId: 7, labelNotPrinted: 'label not printed: the printer at 10.0.0.9:9100 could not be reached (ECONNREFUSED)' }));
    expect(view.tile(PORT)).toMatchObject({ state: 'passed', labelNotPrinted: { attemptId: 7, reason: expect.stringContaining('ECONNREFUSED') } });
    expect(view.labelPrinted(6)).toBeUndefined();
    expect(view.labelPrinted(7)).toBe(PORT);
    expect(view.tile(PORT)!.labelNotPrinted).toBeUndefined();
    view.apply(outcome({ result: 'passed', attemptId: 8, labelNotPrinted: 'label not printed: off' }));
    view.apply({ type: 'plan', port: PORT, serial: undefined, steps: ['identify'] });
    expect(view.tile(PORT)!.labelNotPrinted).toBeUndefined();
  });

  it('fits any failure, reason or label problem to the contract, keeping its start and its end (what to do)', () => {
    const long = (what: string) => `port ${PORT}: ${what} ${'z'.repeat(9000)} Unplug the unit and retry.`;
    const view = new LineView();
    view.setPorts([at(PORT, '1')], 'waiting');
    view.apply({ type: 'plan', port: PORT, serial: undefined, steps: ['identify', 'flash'] });
    view.apply({ type: 'waiting', port: PORT, serial: 'SN1', step: 'flash', for: 'cloud', reason: long('waiting'), until: 1 });
    expect(tileSchema.safeParse(view.tile(PORT)).success).toBe(true);
    view.apply({ type: 'step', port: PORT, serial: 'SN1', step: 'flash', status: 'failed', error: long('step failed') });
    expect(tileSchema.safeParse(view.tile(PORT)).success).toBe(true);
    view.apply(outcome({ result: 'failed', failedStep: 'flash', error: long('unit failed'), errorCode: 'TRANSFER_FAILED' }));
    const failed = view.tile(PORT)!;
    expect(tileSchema.safeParse(failed).success).toBe(true);
    expect(failed.failure!.message).toMatch(new RegExp(`^port ${PORT}: unit failed z+…z+ Unplug the unit and retry\\.$`));
    view.apply({ type: 'plan', port: PORT, serial: undefined, steps: ['identify'] });
    view.apply(outcome({ serial: 'SN2', result: 'passed', attemptId: 9, labelNotPrinted: long('label not printed') }));
    expect(tileSchema.safeParse(view.tile(PORT)).success).toBe(true);
    expect(view.tile(PORT)!.labelNotPrinted!.reason).toMatch(/^port .*: label not printed z+…z+ Unplug the unit and retry\.$/);
  });
});
