import type { CommandLine } from 'electron';
import { enableLinearRegexpFallback as enableInThisProcess, LINEAR_REGEXP_FALLBACK } from '../core/devices/profile/safe-pattern.ts';

export { LINEAR_REGEXP_FALLBACK };

/** Must run before the app is ready: child processes (renderers) take js-flags when they start. */
export function enableLinearRegexpFallback(commandLine: Pick<CommandLine, 'appendSwitch' | 'getSwitchValue'>): void {
  // The main process runs the profiles, and its V8 is already up: js-flags reach it only from the real
  // command line, so the flag is set on it directly.
  enableInThisProcess();
  const current = commandLine.getSwitchValue('js-flags');
  if (current.split(/\s+/).includes(LINEAR_REGEXP_FALLBACK)) return;
  // Chromium keeps the last js-flags switch: carry over any flags given on the command line.
  commandLine.appendSwitch('js-flags', current ? `${current} ${LINEAR_REGEXP_FALLBACK}` : LINEAR_REGEXP_FALLBACK);
}
