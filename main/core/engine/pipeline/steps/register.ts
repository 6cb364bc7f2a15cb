import type { StepModule } from '../pipeline-types.ts';

/** Adds the unit to a cloud that registers units (Fleet Freedom); an existing one counts as registered. */
export const registerStep: StepModule = {
  name: 'register',
  applies: ({ cloud }) => cloud.register !== undefined,
  create: (deps) => ({
    name: 'register',
    cloudStep: 'register',
    run: async (unit) => void (await deps.adapter.register!(unit.serial!, { signal: deps.signal })),
    deferrable: { call: 'register', payload: (unit) => ({ serial: unit.serial }) },
  }),
};
