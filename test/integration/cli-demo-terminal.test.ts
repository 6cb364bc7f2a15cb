import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';

/** A private tmux server (its own socket), so the test touches no one else's sessions. */
const SOCKET = `station-board-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });

describe('station demo in a real terminal', () => {
  afterEach(() => {
    tmux('kill-server');
  });

  it('at 80×24, 32 ports: the board fits the screen, with running totals, elapsed time and every slot, and ends with the summary', { timeout: 180_000 }, async () => {
    const command = `${process.execPath} ${resolve('bin/station.js')} demo --ports 32; echo "EXIT $?"; sleep 600`;
    const started = tmux('new-session', '-d', '-s', 'demo', '-x', '80', '-y', '24', '-c', resolve('.'), command);
    expect(started.status, started.stderr).toBe(0);
    // -J joins a line the terminal wrapped: a board line wider than 80 columns would show as one.
    const capture = () => tmux('capture-pane', '-p', '-J', '-t', 'demo').stdout;
    const frames: string[] = [];
    await until(() => {
      frames.push(capture());
      return /EXIT \d+/.test(frames.at(-1)!);
    }, 150_000);
    const screen = frames.at(-1)!;
    mkdirSync(resolve('test-results/screens'), { recursive: true });
    writeFileSync(join(resolve('test-results/screens'), 'terminal-demo-32-80x24.txt'), screen);
    const raw = screen.replace(/\n+$/, '').split('\n');
    expect(screen).toMatch(/EXIT 0/);
    expect(raw.length).toBeLessThanOrEqual(24);
    for (const line of raw) expect([...line].length, line).toBeLessThanOrEqual(80);
    // -J keeps the blanks a longer, earlier frame left in the cells: the text is what counts.
    const lines = raw.map((line) => line.trimEnd());
    // The board's top is still on screen: nothing scrolled away.
    expect(lines[0]).toMatch(/^GadgetKeeper emulator on http:\/\/127\.0\.0\.1:\d+; 32 simulated unit\(s\) on ptys/);
    // Running totals and the time since the start, in words where they fit (in marks where not).
    expect(lines[1]).toMatch(/^32\/32 done · ✔ 32 passed · ✖ 0 failed · 0 working · elapsed \d\d:\d\d$|^\d\d:\d\d 32\/32 done ✔32 ✖0 …0$/);
    for (let slot = 1; slot <= 32; slot++) expect(screen).toMatch(new RegExp(`(^|\\s)${slot} ✔ ok`, 'm'));
    expect(lines).toContainEqual(expect.stringMatching(/^32 passed, 0 failed in [\d.]+ s \(\d+ units per hour\)$/));
    // While it ran, the same screen showed the units at work, with the elapsed time counting from the start.
    const totals = (frame: string) => (frame.split('\n')[1] ?? '').trimEnd();
    const working = (frame: string) => Number(/(?:· (\d+) working|…(\d+)$)/.exec(totals(frame))?.slice(1).find(Boolean) ?? 0);
    const busy = frames.find((frame) => working(frame) > 0);
    expect(busy, 'no frame caught the line at work').toBeDefined();
    expect(totals(busy!)).toMatch(/^\d+\/32 done · .* working · elapsed \d\d:\d\d$|^\d\d:\d\d \d+\/32 done/);
    for (const frame of frames) expect(frame.split('\n').every((line) => [...line].length <= 80)).toBe(true);
  });
});
