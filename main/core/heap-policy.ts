import { setFlagsFromString } from 'node:v8';

/**
 * V8 sizes its heap for a short burst of throughput; a station runs a whole
 * shift. Left alone, V8 doubles its young generation each time the bytes that
 * survived its scavenges since the last doubling exceed its size (work done,
 * not data held), up to 128 MiB of young generation here, and lets the old
 * generation fill with promoted garbage to a multiple of what its last full
 * collection kept. Both grow with the number of units handled while the
 * station holds the same data: an outbox replay of 100 000 units peaked at
 * 1.6 × the memory of one of 10 000 (bench section 4).
 *
 * These two flags keep the young generation at the size V8 gives it at
 * start-up (16 MiB here, where its defaults go on to 128 MiB) and collect the
 * old generation once it is 10 % over what the last full collection kept (V8
 * still lets it grow by a few MiB each time), so the memory levels off at what
 * the station holds. In the replay they cost no units per second, for about
 * 1 % of its time in collections; the benchmark runs them against V8's
 * defaults.
 *
 * They are set at run time because the desktop app cannot pass V8 flags to
 * its own main process (its js-flags reach only the renderers), and both take
 * effect from the next collection. Node and Electron leave V8's flags writable
 * after start-up for v8.setFlagsFromString.
 */
export const STEADY_HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=10'] as const;

let applied = false;

/** Holds this process's heap steady over a long run (once; later calls do nothing). */
export function holdHeapSteady(): void {
  if (applied) return;
  for (const flag of STEADY_HEAP_FLAGS) setFlagsFromString(flag);
  applied = true;
}
