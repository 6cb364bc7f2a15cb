import { CancelledError } from '../../../errors.ts';
import { activatesOnce } from '../held-credentials.ts';
import { driverOf, type StepModule } from '../pipeline-types.ts';

/** Gets the unit's cloud credentials, unless the station already holds ones it never delivered. */
export const activateStep: StepModule = {
  name: 'activate',
  applies: ({ cloud }) => cloud.activate !== undefined,
  create: (deps) => ({
    name: 'activate',
    cloudStep: 'activate',
    run: async (unit) => {
      // The station already holds this unit's credentials: a new activation would revoke them (or, on Exosite, be refused).
      if (unit.credentials) return `credentials the station already holds for this unit (record ${unit.credentialsFrom}); no new activation`;
      // A one-shot activation (Exosite) is made only while this very unit still answers on this port.
      const canDeliverCredentials = async () => (await driverOf(unit).identify({ signal: deps.signal })).serial === unit.serial;
      // Once sent, a one-shot activation is let answer (within the cloud's own deadline) even if the unit is cancelled
      // meanwhile: cut off, the cloud may still issue credentials the station never sees, and no second activation comes.
      unit.credentials = await deps.adapter.activate!(unit.serial!, { signal: activatesOnce(deps.adapter) ? undefined : deps.signal, canDeliverCredentials });
      unit.credentialsFrom = unit.unitId;
      deps.journal.storeCredentials(unit.unitId!, { ...unit.credentials, account: deps.adapter.account }, 'held');
      // Calls still waiting for the cloud the unit was queued under carry what that cloud issued: they are superseded.
      deps.journal.dropOtherCloudCalls(unit.unitId!, deps.adapter.account, `superseded: unit ${unit.serial} was activated again with ${deps.adapter.account}`);
      if (deps.signal?.aborted) throw new CancelledError('cancelled once the activation had answered; the credentials are kept for the unit');
    },
    deferrable: { call: 'activate', payload: (unit) => ({ serial: unit.serial }) },
    offlineSkip: deps.adapter.steps.activate?.offlineSkip,
  }),
};
