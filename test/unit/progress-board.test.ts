import { describe, expect, it } from 'vitest';
import { throttleProgress } from '../../main/core/engine/event-throttle.ts';
import type { StationEvent, UnitOutcome } from '../../main/core/engine/events.ts';
import { ProgressBoard } from '../../main/cli/progress-board.ts';

const unit = (port: string, serial: string, over: Partial<UnitOutcome> = {}): UnitOutcome => ({
  type: 'unit',
  port,
  serial,
  result: 'passed',
  failedStep: undefined,
  error: undefined,
  thingId: undefined,
  versionId: undefined,
  steps: {},
  unitId: 1,
  ...over,
});

/** A 32-port line part-way: 20 passed, one failed, one cancelled, ten flashing. */
function busyLine(now: () => number): ProgressBoard {
  const ports = Array.from({ length: 32 }, (_, i) => ({ path: `/dev/serial/by-id/usb-Acme_Thermo_${String(i + 1).padStart(4, '0')}-if00`, slot: `A${i + 1}` }));
  const board = new ProgressBoard(ports, { now, title: 'GadgetKeeper emulator on http://127.0.0.1:40000; 32 simulated unit(s) on ptys' });
  ports.forEach(({ path }, i) => {
    const serial = `THERM${String(i + 1).padStart(14, '0')}`;
    if (i < 20) board.apply(unit(path, serial));
    else if (i === 20) board.apply(unit(path, serial, { result: 'failed', failedStep: 'write-credentials', error: 'the device answered error STORAGE: non-volatile memory write failed', errorCode: 'DEVICE_STORAGE' }));
    else if (i === 21) board.apply(unit(path, serial, { result: 'failed', failedStep: 'flash', error: 'cancelled', errorCode: 'CANCELLED' }));
    else {
      board.apply({ type: 'step', port: path, serial, step: 'flash', status: 'started' });
      board.apply({ type: 'progress', port: path, serial, step: 'flash', bytesDone: 1000 * i, total: 40_000, bytesPerSecond: 90 * 1024, secondsLeft: 5 });
    }
  });
  return board;
}

describe('terminal progress board', () => {
  it('shows each port with its slot, step, a bar with percent, rate and time left, and results in words', () => {
    const board = new ProgressBoard(['/dev/ttyACM0', '/dev/ttyACM1', '/dev/ttyACM2']);
    board.apply({ type: 'step', port: '/dev/ttyACM0', serial: 'SN0', step: 'flash', status: 'started' });
    board.apply({ type: 'progress', port: '/dev/ttyACM0', serial: 'SN0', step: 'flash', bytesDone: 512 * 1024, total: 1024 * 1024, bytesPerSecond: 90 * 1024, secondsLeft: 5.6 });
    board.apply(unit('/dev/ttyACM1', 'SN1', { result: 'failed', failedStep: 'activate', error: 'serial number SN1 is not registered', unitId: 2 }));
    const [totals, flashing, failed, waiting] = board.render(200).split('\n');
    expect(totals).toMatch(/^1\/3 done · ✔ 0 passed · ✖ 1 failed · 1 working · elapsed 00:00$/);
    expect(flashing).toMatch(/… +1 \/dev\/ttyACM0 +SN0 +flash +\[##########\.{10}\]  50% 90 KB\/s 6 s left/);
    expect(failed).toContain('✖   2 /dev/ttyACM1');
    expect(failed).toContain('FAILED at activate: serial number SN1 is not registered');
    expect(waiting).toContain('waiting');
  });

  it('fits 80×24 with 32 ports: totals and elapsed time on top, every slot in a grid, the failure and the busy ports below', () => {
    let now = 0;
    const board = busyLine(() => now);
    now = 83_000;
    const lines = board.render(80, 21).split('\n');
    expect(lines.length).toBeLessThanOrEqual(21);
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(80);
    // The words do not fit 80 columns: the same totals in marks, the elapsed time first.
    expect(lines[1]).toBe('01:23 22/32 done ✔20 ✖1 ⊘1 …10');
    expect(board.render(120, 21).split('\n')[1]).toBe('22/32 done · ✔ 20 passed · ✖ 1 failed · ⊘ 1 cancelled · 10 working · elapsed 01:23');
    // Every slot is on the board, in the grid.
    const text = lines.join('\n');
    for (let i = 1; i <= 32; i++) expect(text).toMatch(new RegExp(`A${i} [✔✖⊘…]`));
    expect(text).toMatch(/A21 ✖ FAIL/);
    expect(text).toMatch(/A23 … 5\d%/);
    // Below the grid: the failure first, in words, then the working ports with their bars.
    const details = lines.slice(lines.findIndex((line) => line.startsWith('✖ A21')));
    expect(details[0]).toMatch(/^✖ A21 THERM00000000000021 FAILED at write-credentials: the device answered erro…$/);
    expect(details.slice(1)).toHaveLength(10);
    expect(details[1]).toMatch(/^… A23 THERM00000000000023 flash  \[######\.{4}\]  55% 90 KB\/s 5 s left$/);
  });

  it('a line too long for the terminal keeps its grid and counts the details it cannot show', () => {
    const ports = Array.from({ length: 64 }, (_, i) => `/dev/ttyACM${i}`);
    const board = new ProgressBoard(ports);
    for (const port of ports) board.apply({ type: 'step', port, serial: `SN-${port.slice(11)}`, step: 'activate', status: 'started' });
    const lines = board.render(80, 21).split('\n');
    expect(lines).toHaveLength(21);
    // 64 ports, 7 to a line: 10 lines of grid, then 9 working ports and a count of the other 55.
    expect(lines.slice(1, 11).join(' ')).toMatch(/^ +1 … activ/);
    expect(lines.at(-1)).toBe('  … and 55 more (failed first, then working)');
  });

  it('at 160×50 every port has its own full row', () => {
    const board = busyLine(() => 0);
    const lines = board.render(160, 47).split('\n');
    expect(lines).toHaveLength(34);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(160);
    expect(lines.filter((line) => /PASSED$/.test(line))).toHaveLength(20);
    expect(lines.find((line) => line.includes(' A21 '))).toContain('FAILED at write-credentials: the device answered error STORAGE: non-volatile memory write failed');
  });

  it('a port stopped before any unit answered (an empty slot) waits again and counts nowhere', () => {
    const board = new ProgressBoard([{ path: '/dev/ttyACM0', slot: 'A1' }, { path: '/dev/ttyACM1', slot: 'A2' }]);
    board.apply({ type: 'plan', port: '/dev/ttyACM1', serial: undefined, steps: ['identify'] });
    board.apply(unit('/dev/ttyACM0', 'SN1'));
    board.apply(unit('/dev/ttyACM1', undefined as unknown as string, { serial: undefined, unitId: undefined, result: 'failed', failedStep: 'identify', error: 'cancelled', errorCode: 'CANCELLED' }));
    expect(board.render(120, 10).split('\n')[0]).toMatch(/^1\/2 done · ✔ 1 passed · ✖ 0 failed · 0 working/);
    expect(board.render(120, 10)).not.toContain('cancelled');
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
