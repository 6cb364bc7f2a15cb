import { driverOf, type StepModule } from '../pipeline-types.ts';

/** The version the unit runs now: a unit already on the target is not flashed again. */
export const currentVersionStep: StepModule = {
  name: 'current-version',
  applies: ({ capabilities }) => capabilities.readVersion,
  create: (deps) => ({
    name: 'current-version',
    run: async (unit) => {
      unit.deviceVersion = await driverOf(unit).readVersion({ signal: deps.signal });
    },
  }),
};
