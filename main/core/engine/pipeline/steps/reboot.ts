import { StationError } from '../../../errors.ts';
import { printableExcerpt } from '../../../printable-text.ts';
import { driverOf, type StepModule } from '../pipeline-types.ts';

/** What the unit's boot banner says, and the version an image carries, as errors quote them: up to a line from the unit, bytes from the image. */
const quoted = (text: string) => printableExcerpt(text, 64);

/** Restarts the unit and checks it booted the target version: only then is the cloud told. */
export const rebootStep: StepModule = {
  name: 'reboot',
  applies: ({ capabilities }) => capabilities.reboot,
  create: (deps) => ({
    name: 'reboot',
    run: async (unit) => {
      const driver = driverOf(unit);
      const boot = await driver.reboot({ signal: deps.signal });
      // The version the unit will say it runs: the image's own where it carries one (ESP-IDF), else the version id it was flashed with.
      const expected = (unit.image && driver.bootVersionOf?.(unit.image)) ?? unit.target!.id;
      if (boot.serial !== unit.serial) {
        throw new StationError('REBOOT_MISMATCH', `after reboot the port reports unit ${quoted(boot.serial)}, not ${unit.serial}`, { hint: 'Was the unit swapped? Plug the right unit back in.' });
      }
      if (boot.version !== expected) {
        throw new StationError('BOOTED_WRONG_VERSION', `the unit booted version ${boot.version === undefined ? 'none' : quoted(boot.version)}, not ${quoted(expected)}${expected === unit.target!.id ? '' : ` (version ${unit.target!.id})`}`, {
          hint: 'The new image did not start; the unit keeps its old image. Retry the flash, or set the unit aside.',
          retryable: true,
        });
      }
    },
  }),
};
