import type { StationEvent } from './events.ts';

/**
 * Coalesces progress events to at most one per port and step every
 * `intervalMs` (a 1 MiB flash reports ~1000 blocks); the last one of a
 * transfer always passes, and every other event passes at once.
 */
export function throttleProgress(forward: (event: StationEvent) => void, intervalMs = 100): (event: StationEvent) => void {
  const last = new Map<string, number>();
  return (event) => {
    if (event.type !== 'progress') return forward(event);
    const key = `${event.port}\u0000${event.step}`;
    const now = performance.now();
    const done = event.bytesDone >= event.total;
    if (!done && now - (last.get(key) ?? -Infinity) < intervalMs) return;
    last.set(key, now);
    forward(event);
  };
}
