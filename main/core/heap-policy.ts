import { setFlagsFromString } from 'node:v8';

/**
 * V8 sizes its heap for a short burst of throughput; a station runs a whole
 * shift. Left alone, V8 doubles its young generation each time the bytes that
 * survived its scavenges since the last doubling exceed its size (work done,
 * not data held), up to 128 MiB of young generation here, and lets the old
 * generation fill with promoted garbage to a multiple of what its last full
 * collection kept. Both grow with the number of units handled while the
 * station holds the same data: an outbox replay of 100 000 units peaked at
 * 1.5-1.6 × the memory of one of 10 000 (bench section 4).
 *
 * Two flags keep the young generation from growing past the capacity V8
 * starts it with (16 MiB here; V8 still shrinks it and grows it back below
 * that) and collect the old generation once it is 10 % over what the last full
 * collection kept (V8 still lets it grow by a few MiB each time), so memory
 * levels off at what the station holds. The price is more collections: in the
 * bench's replay about four times the scavenges, at units per second within
 * run-to-run noise of V8's defaults (section 4 gives both side by side).
 *
 * They are set at run time, which is V8 behaviour rather than an API: V8
 * raises a growth factor below 2 back to 2 when it configures its heap at
 * start-up (so `--semi-space-growth-factor=1` on a command line does
 * nothing), and reads the flag again whenever it would grow the young
 * generation afterwards. test/integration/heap-policy.test.ts pins this, so a
 * Node or Electron upgrade that changes it fails the tests instead of
 * undoing the policy unseen. It also works for the desktop app, which the
 * operating system starts without V8 flags (`app.commandLine` is too late for
 * its main process). Node and Electron leave V8's flags writable after
 * start-up for v8.setFlagsFromString.
 *
 * STATION_HEAP_POLICY=v8-default in the environment leaves V8's defaults (to
 * rule the policy out when a station shows collection pauses).
 */
export const STEADY_HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=10'] as const;

export const HEAP_POLICY_ENV = 'STATION_HEAP_POLICY';

let applied = false;

/** Holds this process's heap steady over a long run (once; later calls do nothing), unless the environment asks for V8's defaults. */
export function holdHeapSteady(env: NodeJS.ProcessEnv = process.env): void {
  if (applied || env[HEAP_POLICY_ENV] === 'v8-default') return;
  for (const flag of STEADY_HEAP_FLAGS) setFlagsFromString(flag);
  applied = true;
}
