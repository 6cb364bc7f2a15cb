import type { StepModule } from '../pipeline-types.ts';

/** Tells the cloud the version the unit booted. */
export const confirmStep: StepModule = {
  name: 'confirm',
  applies: ({ cloud }) => cloud.confirm !== undefined,
  create: (deps) => ({
    name: 'confirm',
    cloudStep: 'confirm',
    // Deferred behind an activation, the replayer confirms with the credentials the activation returns.
    needsCredentials: true,
    run: async (unit) => deps.adapter.confirmVersion!(unit.credentials!, unit.target!.id, { signal: deps.signal }),
    deferrable: { call: 'confirm', payload: (unit) => ({ versionId: unit.target!.id }) },
  }),
};
