import { SERIAL_MAX } from '../../../../../contract/station-contract.ts';
import { ProtocolError, StationError } from '../../../errors.ts';
import { printableExcerpt } from '../../../printable-text.ts';
import { sleep } from '../../../sleep.ts';
import type { UnitRecord } from '../../../storage/journal.ts';
import { takeHeldCredentials } from '../held-credentials.ts';
import { attemptTrace, type PipelineDeps, type StepModule } from '../pipeline-types.ts';

/** How often the journal is read while a unit waits for its call in flight to be answered. */
const IN_FLIGHT_POLL_MS = 50;

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
        throw new ProtocolError(`the unit reported a serial number of ${serial.length} characters; the station takes at most ${SERIAL_MAX} ("${printableExcerpt(serial, 33)}")`, {
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
      // A unit that comes back to finish (calls or credentials owed, or a crash mid-way) continues its own record, as it
      // stands once none of its calls is still on its way to the cloud.
      const previous = await afterCallsInFlight(deps, serial);
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

/**
 * The record the unit resumes, read once the replayer has no call of it in flight. A call being sent when the unit
 * is plugged in again cannot be called back: superseded under it, its answer would land on the new attempt (an
 * activation's key over the one the unit is given now, revoking it; the record finished while the unit is at work).
 * So the unit waits for that answer (bounded like any wait for the cloud) and continues from what it brought.
 * Checked and acted on in the same tick as the attempt starts: the replayer claims no call of a unit at work.
 */
async function afterCallsInFlight(deps: PipelineDeps, serial: string): Promise<UnitRecord | undefined> {
  const { journal } = deps;
  const timeoutMs = deps.config.offline.waitForCloudSeconds * 1000;
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const previous = journal.unitToResume(serial);
    const inFlight = previous ? journal.callsInFlight(previous.id) : [];
    if (!previous || inFlight.length === 0) return previous;
    const reason = `unit ${serial}: its queued ${inFlight.join(' and ')} call is being sent to the cloud; waiting for the answer`;
    if (Date.now() >= deadline) {
      throw new StationError('CLOUD_CALL_IN_FLIGHT', `${reason} took more than ${deps.config.offline.waitForCloudSeconds} s`, {
        hint: 'Check the internet connection and the outbox (station outbox list), then retry the unit.',
        retryable: true,
      });
    }
    if (!told) {
      told = true;
      deps.emit({ type: 'waiting', port: deps.port, serial, step: 'identify', for: 'cloud', reason, until: deadline });
    }
    await sleep(IN_FLIGHT_POLL_MS, deps.signal);
  }
}
