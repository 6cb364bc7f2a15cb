import { driverOf, type StepModule } from '../pipeline-types.ts';
import { writesCredentials } from './write-credentials.ts';

/** Checks the unit holds exactly those credentials, without the secret crossing the line again. */
export const verifyCredentialsStep: StepModule = {
  name: 'verify-credentials',
  applies: writesCredentials,
  create: (deps) => ({
    name: 'verify-credentials',
    needsCredentials: true,
    run: async (unit) => {
      await driverOf(unit).verifyCredentials(unit.credentials!, { signal: deps.signal });
      deps.journal.setCredentialsState(unit.unitId!, 'written');
    },
  }),
};
