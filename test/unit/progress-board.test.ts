import { describe, expect, it } from 'vitest';
import { throttleProgress } from '../../main/core/engine/event-throttle.ts';
import type { StationEvent } from '../../main/core/engine/events.ts';
import { ProgressBoard } from '../../main/cli/progress-board.ts';

describe('terminal progress board', () => {
  it('shows each port with its step, a bar with percent, rate and time left, and results in words', () => {
    const board = new ProgressBoard(['/dev/ttyACM0', '/dev/ttyACM1', '/dev/ttyACM2']);
    board.apply({ type: 'step', port: '/dev/ttyACM0', serial: 'SN0', step: 'flash', status: 'started' });
    board.apply({ type: 'progress', port: '/dev/ttyACM0', serial: 'SN0', step: 'flash', bytesDone: 512 * 1024, total: 1024 * 1024, bytesPerSecond: 90 * 1024, secondsLeft: 5.6 });
    board.apply({ type: 'unit', port: '/dev/ttyACM1', serial: 'SN1', result: 'failed', failedStep: 'activate', error: 'serial number SN1 is not registered', thingId: undefined, versionId: undefined, steps: {}, unitId: 2 });
    const [flashing, failed, waiting] = board.render(200).split('\n');
    expect(flashing).toMatch(/… +\/dev\/ttyACM0 +SN0 +flash +\[##########\.{10}\]  50% 90 KB\/s 6 s left/);
    expect(failed).toContain('✖');
    expect(failed).toContain('FAILED at activate: serial number SN1 is not registered');
    expect(waiting).toContain('waiting');
  });

  it('throttles progress to one event per port and step per interval, always passing the last', () => {
    const seen: StationEvent[] = [];
    const forward = throttleProgress((e) => seen.push(e), 10_000);
    const progress = (bytesDone: number): StationEvent => ({ type: 'progress', port: 'p', serial: 's', step: 'flash', bytesDone, total: 100, bytesPerSecond: 1, secondsLeft: 1 });
    for (let done = 1; done <= 100; done++) forward(progress(done));
    forward({ type: 'step', port: 'p', serial: 's', step: 'flash', status: 'done' });
    expect(seen.map((e) => (e.type === 'progress' ? e.bytesDone : e.type))).toEqual([1, 100, 'step']);
  });
});
