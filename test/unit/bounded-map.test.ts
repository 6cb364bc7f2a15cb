import { describe, expect, it } from 'vitest';
import { mapBounded } from '../../main/core/cloud/bounded-map.ts';

/** A task that takes `ms` unless its signal aborts first. */
const slow = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => resolve('slow'), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error('stopped'));
    });
  });

describe('mapBounded', () => {
  it('runs at most `limit` at once and keeps the items\' order', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setTimeout(resolve, n * 5));
      running--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });

  it('on the first failure stops the running ones through their signal and starts no more: the failure comes promptly, not after them', async () => {
    const started: number[] = [];
    const began = performance.now();
    const run = mapBounded([0, 1, 2, 3], 2, async (n, signal) => {
      started.push(n);
      if (n === 1) throw new Error('item 1 failed');
      return slow(20_000, signal);
    });
    await expect(run).rejects.toThrow('item 1 failed');
    expect(performance.now() - began).toBeLessThan(10_000);
    expect(started.sort()).toEqual([0, 1]);
  });

  it('a limit that is not a positive number still runs one at a time', async () => {
    expect(await mapBounded([1, 2], Number.NaN, async (n) => n)).toEqual([1, 2]);
    expect(await mapBounded([1, 2], 0, async (n) => n)).toEqual([1, 2]);
  });
});
