import { describe, expect, it } from 'vitest';
import { Limiter } from '../../main/core/limiter.ts';
import { CancelledError } from '../../main/core/errors.ts';

describe('Limiter', () => {
  it('never runs more than its limit at once, and runs everything', async () => {
    const limiter = new Limiter(2);
    let active = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((resolve) => setTimeout(resolve, 5));
          active--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a task stopped while it waits for its turn never runs; it leaves the queue at once, and the next one still gets its turn', async () => {
    const limiter = new Limiter(1);
    const ran: string[] = [];
    let finishFirst!: () => void;
    const first = limiter.run(() => {
      ran.push('first');
      return new Promise<void>((resolve) => (finishFirst = resolve));
    });
    const controller = new AbortController();
    const stopped = limiter.run(async () => void ran.push('stopped'), controller.signal);
    const next = limiter.run(async () => void ran.push('next'));
    controller.abort();
    // It gives up while the first still holds the only place.
    await expect(stopped).rejects.toBeInstanceOf(CancelledError);
    expect(ran).toEqual(['first']);
    finishFirst();
    await Promise.all([first, next]);
    expect(ran).toEqual(['first', 'next']);
    // The place it left is not lost: a new task runs at once.
    await limiter.run(async () => void ran.push('later'));
    expect(ran).toEqual(['first', 'next', 'later']);
  });

  it('a task whose signal has already aborted does not run, even with room', async () => {
    const limiter = new Limiter(2);
    let ran = false;
    await expect(limiter.run(async () => void (ran = true), AbortSignal.abort())).rejects.toBeInstanceOf(CancelledError);
    expect(ran).toBe(false);
  });
  it('a task stopped in the very tick its turn was handed to it never runs, and passes the turn on', async () => {
    const limiter = new Limiter(1);
    let finishFirst!: () => void;
    const gate = new Promise<void>((resolve) => (finishFirst = resolve));
    let firstTask: Promise<void> | undefined;
    const first = limiter.run(() => (firstTask = gate.then(() => undefined)));
    const stop = new AbortController();
    let secondRan = false;
    const second = limiter.run(async () => {
      secondRan = true;
    }, stop.signal);
    while (!firstTask) await Promise.resolve();
    // Registered after the limiter's own wait on the task: it runs right after the first task's place went to the
    // second (its abort listener already removed), before the second's turn resumes.
    void firstTask.then(() => stop.abort());
    finishFirst();
    await first;
    await expect(second).rejects.toBeInstanceOf(CancelledError);
    expect(secondRan).toBe(false);
    // Its place went on: the next task runs.
    expect(await limiter.run(async () => 'third')).toBe('third');
  });
});
