import { CloudError } from '../../cloud/cloud-error.ts';
import { StationError, isStationError } from '../../errors.ts';
import { isConnectivityFailure } from '../connectivity.ts';
import { noTarget, notCached } from './offline-errors.ts';
import { lastTarget } from './last-target.ts';
import type { PipelineDeps, Step, UnitState } from './pipeline-types.ts';

/** How often a unit repeats a cloud call whose answer was lost while the cloud itself still answers. */
const LOST_ANSWER_RETRIES = 2;

/**
 * Runs a step. When the cloud cannot be reached: defers a replay-safe call to
 * the outbox, or uses what the station already knows, or skips what can wait
 * for the field; a unit that needs what only the cloud can give waits for it
 * (bounded). One failed call is not an outage: the station probes first, and
 * a call whose answer was lost is repeated only when that is safe.
 * Returns undefined when done, else why it was skipped.
 */
export async function runStep(deps: PipelineDeps, step: Step, unit: UnitState): Promise<string | undefined> {
  const { connectivity } = deps;
  if (step.deferrable && unit.deferred.length > 0) return defer(deps, unit, step.deferrable);
  if (step.needsCredentials && !unit.credentials) return 'no cloud credentials for this unit yet';
  if (step.cloudStep === undefined) return skipReason(await step.run(unit));
  for (let lostAnswers = 0; ; ) {
    if (!connectivity.online) {
      const offline = await withoutCloud(deps, step, unit);
      if (offline.handled) return offline.skipped;
      await waitForCloud(deps, step, unit, offline.needs);
      continue;
    }
    try {
      const skipped = skipReason(await step.run(unit));
      // The cloud answered: evidence that it is reachable (a step skipped before calling it is none).
      if (skipped === undefined) connectivity.markOnline();
      return skipped;
    } catch (error) {
      if (!isConnectivityFailure(error)) {
        if (error instanceof CloudError) connectivity.markOnline();
        throw error;
      }
      const safety = deps.adapter.steps[step.cloudStep];
      if (error.outcomeUnknown && !safety?.retrySafe && !safety?.replaySafe) throw outcomeUnknown(error);
      // The cloud still answers: an answer was lost, not the connection. Repeat a little, then give up.
      if ((await connectivity.confirm()) && ++lostAnswers > LOST_ANSWER_RETRIES) throw error;
    }
  }
}

/** `false` or a string from a step's run: it had nothing to do (the string says why). */
function skipReason(result: boolean | string | void): string | undefined {
  if (result === false) return '';
  return typeof result === 'string' ? result : undefined;
}

/** Queues the step's call in the outbox; every later cloud call of the unit follows it there, in order. */
function defer(deps: PipelineDeps, unit: UnitState, deferrable: NonNullable<Step['deferrable']>): string {
  unit.deferred.push(deferrable.call);
  deps.journal.enqueue(unit.unitId!, deps.adapter.backend.id, deferrable.call, deferrable.payload(unit), deps.adapter.account);
  return 'queued for replay when the cloud is back';
}

type OfflineOutcome = { handled: true; skipped: string | undefined } | { handled: false; needs: StationError };

/** What a cloud step does while the cloud is out of reach; `needs` when only the cloud can give the unit what it needs. */
async function withoutCloud(deps: PipelineDeps, step: Step, unit: UnitState): Promise<OfflineOutcome> {
  const missing = missingOffline(deps, unit);
  const replaySafe = step.deferrable !== undefined && deps.adapter.steps[step.cloudStep!]?.replaySafe === true;
  if (step.deferrable && replaySafe && !missing) return { handled: true, skipped: defer(deps, unit, step.deferrable) };
  if (step.offline) {
    try {
      await step.offline(unit);
      return { handled: true, skipped: undefined };
    } catch (error) {
      if (isStationError(error) && error.code.startsWith('OFFLINE_')) return { handled: false, needs: error };
      throw error;
    }
  }
  if (step.offlineSkip && !missing) return { handled: true, skipped: `offline: ${step.offlineSkip}` };
  return { handled: false, needs: missing ?? new StationError('OFFLINE_CLOUD_NEEDED', `the cloud cannot be reached and ${step.name} needs it`, { retryable: true }) };
}

/**
 * What the unit would lack to be finished from what the station knows (a
 * target version and its firmware on disk), or undefined when nothing is
 * missing. While something is, its cloud calls are not deferred: the unit
 * waits for the cloud instead.
 */
function missingOffline(deps: PipelineDeps, unit: UnitState): StationError | undefined {
  const { config, journal, cache, adapter } = deps;
  if (config.firmware.source === 'file') return undefined;
  const target = unit.target ?? lastTarget(journal, adapter.account);
  if (target === undefined) return noTarget();
  if (unit.image !== undefined || journal.cachedFirmware(cache.keyOf(target)) !== undefined) return undefined;
  return notCached(target.id);
}

/** Waits (bounded by the line's offline.waitForCloudSeconds) for the cloud; the tile and the JSON events say so. */
async function waitForCloud(deps: PipelineDeps, step: Step, unit: UnitState, needs: StationError): Promise<void> {
  const timeoutMs = deps.config.offline.waitForCloudSeconds * 1000;
  const waited = () => {
    const seconds = deps.config.offline.waitForCloudSeconds;
    needs.message = seconds > 0 ? `${needs.message}; waited ${seconds} s for the cloud to come back` : needs.message;
    return needs;
  };
  if (timeoutMs === 0) throw waited();
  deps.emit({ type: 'waiting', port: deps.port, serial: unit.serial, step: step.name, for: 'cloud', reason: needs.message, until: Date.now() + timeoutMs });
  await deps.connectivity.waitOnline({ timeoutMs, signal: deps.signal, onTimeout: waited });
  deps.emit({ type: 'step', port: deps.port, serial: unit.serial, step: step.name, status: 'started' });
}

/** A one-shot call (Exosite activation) that may have taken effect without an answer: never repeated, never skipped. */
function outcomeUnknown(error: CloudError): StationError {
  return new StationError('CLOUD_OUTCOME_UNKNOWN', error.message, {
    hint: error.hint ?? 'The cloud may have acted on the call; check the unit in the cloud before trying again.',
    retryable: false,
    cause: error,
  });
}
