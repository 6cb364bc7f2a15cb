import { describe, expect, it } from 'vitest';
import { LineView } from '../../main/core/desk/line-view.ts';
import type { UnitOutcome } from '../../main/core/engine/events.ts';

const PORT = '/dev/ttyUSB0';
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
    view.setPorts([PORT], 'waiting', ['identify', 'register', 'target-version', 'download', 'flash', 'reboot']);
    expect(view.tile(PORT)!.steps.map((entry) => entry.step)).toEqual(['identify', 'register', 'target-version', 'download', 'flash', 'reboot']);
    view.apply({ type: 'plan', port: PORT, serial: undefined, steps: ['identify', 'register', 'flash'] });
    expect(view.tile(PORT)!.steps).toEqual([
      { step: 'identify', state: 'pending' },
      { step: 'register', state: 'pending' },
      { step: 'flash', state: 'pending' },
    ]);
    expect(view.tile(PORT)!.state).toBe('working');
  });

  it('follows a unit through its steps and its flash progress', () => {
    const view = new LineView();
    view.setPorts([PORT], 'waiting');
    view.apply({ type: 'step', port: PORT, serial: undefined, step: 'identify', status: 'started' });
    view.apply({ type: 'step', port: PORT, serial: 'SN1', step: 'identify', status: 'done' });
    view.apply({ type: 'step', port: PORT, serial: 'SN1', step: 'flash', status: 'started' });
    view.apply({ type: 'progress', port: PORT, serial: 'SN1', step: 'flash', bytesDone: 512, total: 1024, bytesPerSecond: 100, secondsLeft: 5 });
    const tile = view.tile(PORT)!;
    expect(tile).toMatchObject({ state: 'working', serial: 'SN1', step: 'flash', progress: { bytesDone: 512, total: 1024 } });
    expect(tile.steps.find((s) => s.step === 'identify')!.state).toBe('done');
    view.apply({ type: 'step', port: PORT, serial: 'SN1', step: 'flash', status: 'done' });
    expect(view.tile(PORT)!.progress).toBeUndefined();
  });

  it('tells a failed unit from a port that needs a person', () => {
    const view = new LineView();
    view.apply(outcome({ result: 'failed', failedStep: 'write-credentials', error: 'memory write failed', errorCode: 'DEVICE_ERROR' }));
    expect(view.tile(PORT)).toMatchObject({ state: 'failed', failure: { step: 'write-credentials', message: 'memory write failed' } });
    view.apply(outcome({ unitId: 2, result: 'failed', failedStep: 'flash', error: 'unplugged', errorCode: 'PORT_DISCONNECTED' }));
    expect(view.tile(PORT)!.state).toBe('attention');
  });

  it('a retried unit replaces its failure in the counts and the recent list', () => {
    let now = 0;
    const view = new LineView(() => now);
    view.apply(outcome({ result: 'failed', failedStep: 'flash', error: 'x' }));
    now = 120_000;
    view.apply(outcome({ result: 'passed' }));
    const header = view.header({ configured: true, demo: false, lineRunning: true, online: true, outboxPending: 0 });
    expect(header).toMatchObject({ passed: 1, failed: 0, yield: 1 });
    expect(view.tile(PORT)!.recent).toHaveLength(1);
  });

  it('a unit that waited for the cloud becomes passed when its calls went through', () => {
    const view = new LineView();
    view.apply(outcome({ result: 'pending' }));
    expect(view.tile(PORT)).toMatchObject({ state: 'pending', queued: 1 });
    expect(view.settleRecent(1, 'passed')).toBe(PORT);
    expect(view.tile(PORT)).toMatchObject({ state: 'passed', queued: 0 });
    expect(view.header({ configured: true, demo: false, lineRunning: true, online: true, outboxPending: 0 })).toMatchObject({ passed: 1, pending: 0 });
  });
});
