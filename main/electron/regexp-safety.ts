import { setFlagsFromString } from 'node:v8';
import type { CommandLine } from 'electron';

/**
 * V8 switches a regular expression to its linear-time engine once it
 * backtracks too much, so a device profile's pattern cannot freeze the
 * station (a match then costs time in proportion to the line, not 2^n).
 */
export const LINEAR_REGEXP_FALLBACK = '--enable-experimental-regexp-engine-on-excessive-backtracks';

/** Must run before the app is ready: child processes (renderers) take js-flags when they start. */
export function enableLinearRegexpFallback(commandLine: Pick<CommandLine, 'appendSwitch' | 'getSwitchValue'>): void {
  // The main process runs the profiles, and its V8 is already up: js-flags reach it only from the real
  // command line, so the flag is set on it directly.
  setFlagsFromString(LINEAR_REGEXP_FALLBACK);
  const current = commandLine.getSwitchValue('js-flags');
  if (current.split(/\s+/).includes(LINEAR_REGEXP_FALLBACK)) return;
  // Chromium keeps the last js-flags switch: carry over any flags given on the command line.
  commandLine.appendSwitch('js-flags', current ? `${current} ${LINEAR_REGEXP_FALLBACK}` : LINEAR_REGEXP_FALLBACK);
}
