import { driverOf, type PlanContext, type StepModule } from '../pipeline-types.ts';

/** Credentials come from an activation, into a unit whose driver can store them; a cloud that registers units gives none. */
export const writesCredentials = ({ cloud, capabilities }: PlanContext) => cloud.activate !== undefined && capabilities.credentials;

/** Stores the unit's cloud credentials in it. */
export const writeCredentialsStep: StepModule = {
  name: 'write-credentials',
  applies: writesCredentials,
  create: (deps) => ({
    name: 'write-credentials',
    needsCredentials: true,
    run: async (unit) => driverOf(unit).writeCredentials(unit.credentials!, { signal: deps.signal }),
  }),
};
