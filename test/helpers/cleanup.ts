import { afterEach } from 'vitest';

/**
 * Teardown a test adds as it sets things up (a station, simulated units, an
 * emulator), run after each test, last added first: each part closes before
 * what it stands on.
 */
export function useCleanup(): Array<() => unknown> {
  const steps: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step();
  });
  return steps;
}
