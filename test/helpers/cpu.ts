import { expect } from 'vitest';
import type { BytePort, PortCloseReason } from '../../main/core/ports/byte-port.ts';

/**
 * CPU time this process spends while something runs, as a share of one core
 * (0.02 = 2 % of a core). Vitest runs each test file in its own process, so
 * only the station code under test (and the test) is counted.
 */
export interface CpuWindow<T> {
  value: T;
  cpuMs: number;
  wallMs: number;
  /** cpuMs / wallMs: about 1 for a loop that spins one core, near 0 for code that waits. */
  share: number;
}

export async function measureCpu<T>(during: () => Promise<T>): Promise<CpuWindow<T>> {
  const startedAt = performance.now();
  const start = process.cpuUsage();
  const value = await during();
  const used = process.cpuUsage(start);
  const wallMs = performance.now() - startedAt;
  const cpuMs = (used.user + used.system) / 1000;
  return { value, cpuMs, wallMs, share: cpuMs / Math.max(wallMs, 1) };
}

/** A point to measure CPU from, for windows that start inside a callback. */
export interface CpuMark {
  at: number;
  usage: NodeJS.CpuUsage;
}

export function markCpu(): CpuMark {
  return { at: performance.now(), usage: process.cpuUsage() };
}

export function cpuSince(mark: CpuMark): CpuWindow<void> {
  const used = process.cpuUsage(mark.usage);
  const wallMs = performance.now() - mark.at;
  const cpuMs = (used.user + used.system) / 1000;
  return { value: undefined, cpuMs, wallMs, share: cpuMs / Math.max(wallMs, 1) };
}

export function measureCpuOver(ms: number): Promise<CpuWindow<void>> {
  return measureCpu(() => new Promise<void>((resolve) => setTimeout(resolve, ms)));
}

/**
 * A waiting station uses 1-2 ms of CPU a second here (0.2 % of a core); a loop
 * that spins takes all the CPU it is given, which on a 2-core machine busy
 * with other test processes was 14 % to 99 % of a core. 3 % leaves a margin
 * of ten over waiting and of four under the most starved spin seen.
 */
export const IDLE_CPU_SHARE = 0.03;

/**
 * Whether a window looks like waiting rather than spinning. Windows shorter
 * than 500 ms (a hang-up noticed at once) get the budget of 500 ms, 15 ms of
 * CPU, so a garbage collection or a scheduling hiccup does not count as a spin.
 */
export function looksIdle(window: CpuWindow<unknown>): boolean {
  return window.cpuMs <= IDLE_CPU_SHARE * Math.max(window.wallMs, 500);
}

export function describeCpu(window: CpuWindow<unknown>): string {
  return `${window.cpuMs.toFixed(1)} ms of CPU in ${window.wallMs.toFixed(0)} ms (${(window.share * 100).toFixed(0)} % of a core)`;
}

export function expectIdle(window: CpuWindow<unknown>, what: string): void {
  expect(looksIdle(window), `${what}: ${describeCpu(window)}, which is spinning, not waiting`).toBe(true);
}

/**
 * Waits at most `ms` for the port to report its end (undefined if it did not),
 * measuring the CPU spent meanwhile: the hung-up-but-not-yet-noticed window.
 */
export function measureUntilClosed(port: BytePort, ms: number): Promise<CpuWindow<PortCloseReason | undefined>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return measureCpu(() => Promise.race([port.closed, timeout]).finally(() => clearTimeout(timer)));
}
