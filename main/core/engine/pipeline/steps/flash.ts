import { StationError } from '../../../errors.ts';
import { driverOf, progressOf, type StepModule } from '../pipeline-types.ts';

/** Writes the image into the unit; the driver resolves only once the unit confirmed what it received. */
export const flashStep: StepModule = {
  name: 'flash',
  // Planned for every unit: one on the wrong version that cannot be flashed must fail saying so.
  applies: () => true,
  create: (deps) => ({
    name: 'flash',
    run: async (unit) => {
      if (!unit.image) return false;
      if (!deps.capabilities.flash) {
        throw new StationError('PROFILE_UNSUPPORTED', `the unit runs ${unit.deviceVersion ?? 'no firmware'}, not ${unit.target!.id}, and its profile cannot flash`, {
          hint: 'Add a flash command to the device profile, or flash this unit with the vendor tool.',
        });
      }
      await driverOf(unit).flash(unit.image, { signal: deps.signal, onProgress: progressOf(deps, unit, 'flash') });
    },
  }),
};
