import type { UnitRecord } from '../../storage/journal.ts';
import type { PipelineDeps, UnitState } from './pipeline-types.ts';

/**
 * Credentials the station holds for this unit and never delivered (the unit
 * failed or the station stopped before writing them) are the ones it gets:
 * a second activation would revoke them (GadgetKeeper) or be refused, the
 * unit locked out (Exosite, where activation works once: there even
 * delivered credentials are reused). Credentials the cloud refused are not.
 */
export function takeHeldCredentials(deps: PipelineDeps, unit: UnitState, previous: UnitRecord): void {
  const oneShot = deps.adapter.steps.activate?.retrySafe === false && deps.adapter.steps.activate.replaySafe === false;
  const undelivered = previous.credentialsState === 'held' || previous.credentialsState === 'pending';
  if (!undelivered && !(oneShot && previous.credentialsState === 'written')) return;
  const held = deps.journal.credentials(previous.id);
  if (!held) return;
  unit.credentials = held;
  unit.credentialsFrom = previous.id;
  if (previous.id !== unit.unitId) deps.journal.storeCredentials(unit.unitId!, held, 'held');
}
