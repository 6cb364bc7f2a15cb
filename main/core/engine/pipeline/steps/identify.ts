import { StationError } from '../../../errors.ts';
import { takeHeldCredentials } from '../held-credentials.ts';
import { attemptTrace, type StepModule } from '../pipeline-types.ts';

/** Opens the port, reads the unit's serial number, and finds (or starts) its record. */
export const identifyStep: StepModule = {
  name: 'identify',
  applies: () => true,
  create: (deps) => ({
    name: 'identify',
    run: async (unit) => {
      const { journal, port, signal } = deps;
      const trace = attemptTrace(deps);
      unit.driver = await deps.connect();
      const { serial } = await unit.driver.identify({ signal });
      unit.serial = serial;
      deps.activeSerials.claim(serial, port);
      if (deps.retryOf !== undefined) {
        const failed = journal.unit(deps.retryOf);
        if (failed?.serial !== serial) {
          throw new StationError('RETRY_WRONG_UNIT', `the port now holds unit ${serial}, not ${failed?.serial ?? 'the unit to retry'}`, {
            hint: 'Plug the failed unit back in to retry it, or start this one as a new unit.',
          });
        }
        // The same unit tried again: a new attempt on its record, with the credentials it already has.
        journal.retryUnit(failed.id, port, trace);
        unit.unitId = failed.id;
        takeHeldCredentials(deps, unit, failed);
        return;
      }
      // A unit that comes back to finish (credentials owed, or a crash mid-way) continues its own record.
      const previous = journal.unitToResume(serial);
      const continues = previous && (previous.result === 'in-progress' || (previous.result !== 'failed' && previous.credentialsState === 'pending'));
      if (continues) journal.startAttempt(previous.id, port, trace);
      unit.unitId = continues ? previous.id : journal.startUnit(serial, port, trace).id;
      if (previous) takeHeldCredentials(deps, unit, previous);
    },
  }),
};
