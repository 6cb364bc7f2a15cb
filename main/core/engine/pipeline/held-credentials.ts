import type { CloudAdapter } from '../../cloud/cloud-adapter.ts';
import { isStationError } from '../../errors.ts';
import type { HeldCredentials, UnitRecord } from '../../storage/journal.ts';
import type { PipelineDeps, UnitState } from './pipeline-types.ts';

/**
 * Credentials the station holds for this unit and never delivered (the unit
 * failed or the station stopped before writing them) are the ones it gets:
 * a second activation would revoke them (GadgetKeeper) or be refused, the
 * unit locked out (Exosite, where activation works once: there even
 * delivered credentials are reused). Credentials the cloud refused are not,
 * nor ones another cloud issued (the line's cloud moved since): those are
 * never sent anywhere else, and the unit is activated where it is now.
 */
export function takeHeldCredentials(deps: Pick<PipelineDeps, 'adapter' | 'journal'>, unit: UnitState, previous: UnitRecord): void {
  const oneShot = activatesOnce(deps.adapter);
  const undelivered = previous.credentialsState === 'held' || previous.credentialsState === 'pending';
  if (!undelivered && !(oneShot && previous.credentialsState === 'written')) return;
  const held = readable(() => deps.journal.credentials(previous.id));
  if (!held || !issuedBy(held, deps.adapter)) return;
  unit.credentials = { thingId: held.thingId, apiKey: held.apiKey };
  unit.credentialsFrom = previous.id;
  if (previous.id !== unit.unitId) deps.journal.storeCredentials(unit.unitId!, held, 'held');
}

/** Whether the cloud activates a serial number only once (Exosite): an activation neither repeated nor replayed. */
export function activatesOnce(adapter: CloudAdapter): boolean {
  const safety = adapter.steps.activate;
  return safety?.retrySafe === false && safety.replaySafe === false;
}

/** Whether these credentials came from the cloud this adapter speaks to (credentials stored before the station recorded their cloud are taken as its). */
export function issuedBy(credentials: HeldCredentials, adapter: CloudAdapter): boolean {
  return credentials.account === undefined || credentials.account === adapter.account;
}

/**
 * Held credentials that cannot be read (damaged, or sealed under a key the
 * station no longer has) are as good as none: the unit is activated again,
 * where its cloud allows it, rather than failing at identify each time it is
 * plugged in.
 */
function readable(read: () => HeldCredentials | undefined): HeldCredentials | undefined {
  try {
    return read();
  } catch (error) {
    // Only what the journal says cannot be read: any other failure (the journal itself) is not a reason to activate again.
    if (isStationError(error) && error.code === 'SECRET_UNREADABLE') return undefined;
    throw error;
  }
}
