import { CloudError } from '../../cloud/cloud-error.ts';
import { isStationError } from '../../errors.ts';
import type { PipelineStep, UnitOutcome } from '../events.ts';
import { attemptTrace, type PipelineDeps, type UnitState } from './pipeline-types.ts';
import { runStep } from './run-step.ts';
import { planUnit } from './step-plan.ts';

/**
 * One unit through the line, on one port. Each step is journaled before and
 * after it runs, so a restart knows where every unit stood. The cloud learns
 * the installed version only after the unit has booted it. Offline, the unit
 * is still flashed from the cache and its cloud calls wait in the outbox.
 */
export async function runUnit(deps: PipelineDeps): Promise<UnitOutcome> {
  const unit: UnitState = { deferred: [] };
  const timings: Partial<Record<PipelineStep, number>> = {};
  const record = (step: PipelineStep, status: 'started' | 'done' | 'skipped', durationMs?: number, detail?: string) => {
    if (unit.unitId !== undefined) deps.journal.recordStep(unit.unitId, step, status, { durationMs, detail });
    if (status !== 'started') timings[step] = durationMs ?? 0;
    deps.emit({ type: 'step', port: deps.port, serial: unit.serial, step, status, durationMs });
  };
  let current: PipelineStep | undefined;
  try {
    const steps = planUnit(deps);
    deps.emit({ type: 'plan', port: deps.port, serial: undefined, steps: steps.map((step) => step.name) });
    for (const step of steps) {
      current = step.name;
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      record(step.name, 'started');
      try {
        const skipped = await runStep(deps, step, unit);
        if (skipped === undefined) record(step.name, 'done', elapsed());
        else record(step.name, 'skipped', elapsed(), skipped || undefined);
      } catch (error) {
        const described = describe(error, deps.port, unit.serial, step.name);
        timings[step.name] = elapsed();
        // A cancel (the operator's, or a stopped line) is recorded as cancelled: it says nothing of the unit.
        const cancelled = deps.signal?.aborted === true || (isStationError(error) && error.code === 'CANCELLED');
        if (cancelled && unit.unitId === undefined && unit.serial === undefined) {
          // Stopped before any unit answered (an empty slot, a unit still booting): there is no unit to record.
          deps.emit({ type: 'step', port: deps.port, serial: undefined, step: step.name, status: 'failed', error: described });
          return outcome(deps, unit, timings, 'failed', step.name, described, 'CANCELLED');
        }
        if (unit.unitId === undefined) unit.unitId = deps.journal.startUnit(unit.serial ?? '', deps.port, attemptTrace(deps)).id;
        recordFirmware(deps, unit);
        // Credentials the cloud refused (revoked by a newer activation, or reset by the vendor) are not handed to the next attempt.
        if (error instanceof CloudError && error.failure === 'unauthorized') deps.journal.setCredentialsState(unit.unitId, 'none');
        deps.journal.recordStep(unit.unitId, step.name, 'failed', { durationMs: timings[step.name], detail: described });
        deps.journal.finishUnit(unit.unitId, 'failed', { step: step.name, error: described, cancelled });
        deps.journal.cancelOutbox(unit.unitId, `cancelled: the unit failed at ${step.name}`);
        deps.emit({ type: 'step', port: deps.port, serial: unit.serial, step: step.name, status: 'failed', error: described });
        return outcome(deps, unit, timings, 'failed', step.name, described, cancelled ? 'CANCELLED' : isStationError(error) ? error.code : undefined);
      }
    }
    const result = unit.deferred.length > 0 ? 'pending' : 'passed';
    recordFirmware(deps, unit);
    deps.journal.finishUnit(unit.unitId!, result);
    return outcome(deps, unit, timings, result);
  } catch (error) {
    // Only what no unit record can hold gets here (the journal cannot be written): the tile and the error say where.
    const described = current === undefined ? undefined : describe(error, deps.port, unit.serial, current);
    if (current !== undefined) deps.emit({ type: 'step', port: deps.port, serial: unit.serial, step: current, status: 'failed', error: described });
    throw error;
  } finally {
    if (unit.serial !== undefined) deps.activeSerials.release(unit.serial, deps.port);
    await unit.driver?.close().catch(() => undefined);
  }
}

/**
 * The firmware this attempt flashed, by its SHA-256: the image it held, or
 * for a unit that already ran the target, the cached image of that version
 * when the station has it.
 */
function recordFirmware(deps: PipelineDeps, unit: UnitState): void {
  const sha256 =
    unit.image?.sha256 ?? (unit.target && deps.config.firmware.source === 'cloud' ? deps.journal.cachedFirmware(deps.cache.keyOf(unit.target))?.sha256 : undefined);
  if (sha256 !== undefined && unit.unitId !== undefined) deps.journal.setAttemptFirmware(unit.unitId, sha256);
}

/** The failure in words; the step is always named as the pipeline names it (not as a driver or a cloud adapter does). */
function describe(error: unknown, port: string, serial: string | undefined, step: PipelineStep): string {
  if (isStationError(error)) {
    error.where.step = step;
    return error.at({ port, serial }).describe();
  }
  return `port ${port}${serial ? `, unit ${serial}` : ''}, step ${step}: ${error instanceof Error ? error.message : String(error)}`;
}

function outcome(
  deps: PipelineDeps,
  unit: UnitState,
  steps: Partial<Record<PipelineStep, number>>,
  result: UnitOutcome['result'],
  failedStep?: PipelineStep,
  error?: string,
  errorCode?: string,
): UnitOutcome {
  const final: UnitOutcome = {
    type: 'unit',
    port: deps.port,
    serial: unit.serial,
    result,
    failedStep,
    error,
    ...(errorCode === undefined ? {} : { errorCode }),
    ...(unit.labelNotPrinted === undefined ? {} : { labelNotPrinted: unit.labelNotPrinted }),
    thingId: unit.credentials?.thingId,
    versionId: unit.target?.id,
    steps,
    unitId: unit.unitId,
    attemptId: unit.unitId === undefined ? undefined : deps.journal.currentAttempt(unit.unitId),
  };
  deps.emit(final);
  return final;
}
