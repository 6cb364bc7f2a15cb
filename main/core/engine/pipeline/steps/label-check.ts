import { StationError } from '../../../errors.ts';
import { compileProfilePattern } from '../../../devices/profile/safe-pattern.ts';
import type { StepModule } from '../pipeline-types.ts';

/**
 * The operator scans the label the unit carries; the serial number in it
 * (the whole scan, or what the line's pattern finds in it, e.g. in a QR
 * code's URL) must be the one the unit reports. Runs before the cloud hears
 * of the unit, so a mislabelled unit is never activated.
 */
export const labelCheckStep: StepModule = {
  name: 'label-check',
  applies: ({ config }) => config.labels?.check !== undefined,
  create: (deps) => {
    const check = deps.config.labels.check!;
    const pattern = check.pattern === undefined ? undefined : compileProfilePattern(check.pattern);
    return {
      name: 'label-check',
      run: async (unit) => {
        // A unit unplugged while its label is awaited fails as unplugged at once, not at the prompt's timeout.
        const unplugged = new AbortController();
        let gone: Error | undefined;
        void unit.driver?.portClosed.then((reason) => {
          if (reason.kind !== 'disconnected') return;
          gone = reason.error;
          unplugged.abort();
        });
        let answer: string;
        try {
          answer = await deps.prompts.ask({
            port: deps.port,
            serial: unit.serial,
            kind: 'scan',
            text: `Scan the label of unit ${unit.serial}`,
            timeoutMs: check.timeoutSeconds * 1000,
            signal: deps.signal ? AbortSignal.any([deps.signal, unplugged.signal]) : unplugged.signal,
            announce: (prompt) => deps.emit({ type: 'prompt', port: deps.port, serial: unit.serial, prompt }),
          });
        } catch (error) {
          throw gone ?? error;
        }
        const scanned = answer.trim();
        const labelSerial = pattern ? pattern.exec(scanned)?.groups?.serial : scanned;
        if (labelSerial === undefined) {
          throw new StationError('LABEL_UNREADABLE', `the scanned label "${scanned.slice(0, 80)}" holds no serial number the line's pattern finds`, {
            hint: 'Scan the label on this unit (not another code on it), or fix labels.check.pattern.',
            retryable: true,
          });
        }
        if (labelSerial !== unit.serial) {
          throw new StationError('LABEL_MISMATCH', `the label says ${labelSerial}, but the unit reports ${unit.serial}`, {
            hint: 'Put the right label on this unit (or this unit in the right place), then retry it.',
            retryable: true,
          });
        }
      },
    };
  },
};
