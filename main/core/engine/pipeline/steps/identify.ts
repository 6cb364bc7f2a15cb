import { SERIAL_MAX } from '../../../../../contract/station-contract.ts';
import { ProtocolError, StationError } from '../../../errors.ts';
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
      // Screens, History and labels carry serial numbers this long at most: a longer one (a profile pattern with no length, noise) is refused here.
      if (serial.length > SERIAL_MAX) {
        throw new ProtocolError(`the unit reported a serial number of ${serial.length} characters; the station takes at most ${SERIAL_MAX} ("${serial.slice(0, 32)}…")`, {
          hint: 'Check the baud rate and the device profile; give its serialNumberPattern a length, e.g. ^[A-Z0-9]{1,64}$.',
        });
      }
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
      // A unit that comes back to finish (calls or credentials owed, or a crash mid-way) continues its own record.
      const previous = journal.unitToResume(serial);
      const owed = previous && (previous.result === 'pending' || (previous.result !== 'failed' && previous.credentialsState === 'pending'));
      const continues = previous && (previous.result === 'in-progress' || owed);
      if (continues) journal.startAttempt(previous.id, port, trace);
      // Calls its earlier attempt left waiting (the cloud was out of reach, or the station was stopped mid-way) were never
      // answered: this attempt makes them again. Replayed after it, an old activation would revoke the key the unit is given now.
      if (continues) journal.cancelOutbox(previous.id, `superseded: unit ${serial} was plugged in again and made its cloud calls anew`);
      unit.unitId = continues ? previous.id : journal.startUnit(serial, port, trace).id;
      if (previous) takeHeldCredentials(deps, unit, previous);
    },
  }),
};
