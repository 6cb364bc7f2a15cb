import { StationError } from '../../../errors.ts';
import { driverOf, type StepModule } from '../pipeline-types.ts';

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
        throw new StationError('REBOOT_MISMATCH', `after reboot the port reports unit ${boot.serial}, not ${unit.serial}`, { hint: 'Was the unit swapped? Plug the right unit back in.' });
      }
      if (boot.version !== expected) {
        throw new StationError('BOOTED_WRONG_VERSION', `the unit booted version ${boot.version ?? 'none'}, not ${expected}${expected === unit.target!.id ? '' : ` (version ${unit.target!.id})`}`, {
          hint: 'The new image did not start; the unit keeps its old image. Retry the flash, or set the unit aside.',
          retryable: true,
        });
      }
    },
  }),
};
