import type { CloudAdapter, CloudStep, OutboxCall, ThingCredentials, VersionInfo } from '../cloud/cloud-adapter.ts';
import { CloudError } from '../cloud/cloud-error.ts';
import type { LineConfig } from '../config/line-config.ts';
import type { DeviceDriver, DriverCapabilities, FirmwareImage } from '../devices/driver.ts';
import { StationError, isStationError } from '../errors.ts';
import type { Journal, UnitRecord } from '../storage/journal.ts';
import type { TransferProgress } from '../transfer/progress.ts';
import type { ActiveSerials } from './active-serials.ts';
import { isConnectivityFailure, type Connectivity } from './connectivity.ts';
import type { PipelineStep, StationEvent, UnitOutcome } from './events.ts';
import type { FirmwareCache } from './firmware-cache.ts';

export interface PipelineDeps {
  port: string;
  /** Opens the port and returns the unit's driver; called by the identify step. */
  connect: () => Promise<DeviceDriver>;
  /** What the unit's driver can do (known from its profile before connecting). */
  capabilities: DriverCapabilities;
  adapter: CloudAdapter;
  cache: FirmwareCache;
  journal: Journal;
  config: LineConfig;
  activeSerials: ActiveSerials;
  connectivity: Connectivity;
  emit: (event: StationEvent) => void;
  signal?: AbortSignal;
  /** Retry of a failed unit: continue its record and reuse what the cloud already gave it. */
  retryOf?: number;
}

/** What the steps learn as the unit goes along. */
interface UnitState {
  driver?: DeviceDriver;
  serial?: string;
  unitId?: number;
  credentials?: ThingCredentials;
  /** The unit record whose activation gave these credentials. */
  credentialsFrom?: number;
  target?: VersionInfo;
  image?: FirmwareImage;
  deviceVersion?: string;
  /** Cloud calls left in the outbox: once one is, every later cloud call follows it there, in order. */
  deferred: OutboxCall[];
}

interface Step {
  name: PipelineStep;
  /** Returns false, or why, when the step had nothing to do (recorded as skipped). */
  run: (unit: UnitState) => Promise<boolean | string | void>;
  /** The cloud call this step makes: such a step waits, defers or uses what the station knows when the cloud is out of reach. */
  cloudStep?: CloudStep;
  /** A cloud call that may wait in the outbox when the cloud cannot be reached. */
  deferrable?: { call: OutboxCall; payload: (unit: UnitState) => Record<string, unknown> };
  /** Without the cloud: what to do instead (read what the station already knows); throws an OFFLINE_ error when it cannot. */
  offline?: (unit: UnitState) => Promise<void>;
  /** Without the cloud and not deferrable: why the step is skipped (recorded with the unit). */
  offlineSkip?: string;
  /** Cannot run without the unit's cloud credentials. */
  needsCredentials?: boolean;
}

const LAST_TARGET = (backend: string) => `last-target:${backend}`;

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
  try {
    for (const step of planSteps(deps)) {
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
        if (unit.unitId === undefined) unit.unitId = deps.journal.startUnit(unit.serial ?? '', deps.port).id;
        // Credentials the cloud refused (revoked by a newer activation, or reset by the vendor) are not handed to the next attempt.
        if (error instanceof CloudError && error.failure === 'unauthorized') deps.journal.setCredentialsState(unit.unitId, 'none');
        deps.journal.recordStep(unit.unitId, step.name, 'failed', { durationMs: timings[step.name], detail: described });
        deps.journal.finishUnit(unit.unitId, 'failed', { step: step.name, error: described });
        deps.journal.cancelOutbox(unit.unitId, `cancelled: the unit failed at ${step.name}`);
        deps.emit({ type: 'step', port: deps.port, serial: unit.serial, step: step.name, status: 'failed', error: described });
        return outcome(deps, unit, timings, 'failed', step.name, described, isStationError(error) ? error.code : undefined);
      }
    }
    const result = unit.deferred.length > 0 ? 'pending' : 'passed';
    deps.journal.finishUnit(unit.unitId!, result);
    return outcome(deps, unit, timings, result);
  } finally {
    if (unit.serial !== undefined) deps.activeSerials.release(unit.serial, deps.port);
    await unit.driver?.close().catch(() => undefined);
  }
}

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
async function runStep(deps: PipelineDeps, step: Step, unit: UnitState): Promise<string | undefined> {
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
      return skipReason(await step.run(unit));
    } catch (error) {
      if (!isConnectivityFailure(error)) throw error;
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
  deps.journal.enqueue(unit.unitId!, deps.adapter.backend.id, deferrable.call, deferrable.payload(unit));
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
  const target = unit.target?.id ?? journal.setting(LAST_TARGET(adapter.backend.id));
  if (target === undefined) return noTarget();
  if (unit.image !== undefined || journal.cachedFirmware(cache.keyOf(target)) !== undefined) return undefined;
  return notCached(target);
}

function noTarget(): StationError {
  return new StationError('OFFLINE_NO_TARGET', 'the cloud cannot be reached and the station has never learned the target version', {
    hint: 'Connect the station to the internet for the first unit of a batch.',
    retryable: true,
  });
}

function notCached(versionId: string): StationError {
  return new StationError('OFFLINE_FIRMWARE_MISSING', `the firmware ${versionId} is not cached and the cloud cannot be reached`, {
    hint: 'Let one unit through while online so the firmware is downloaded, or retry when the connection is back.',
    retryable: true,
  });
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
  deps.emit({ type: 'waiting', port: deps.port, serial: unit.serial, step: step.name, reason: needs.message, until: Date.now() + timeoutMs });
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

function planSteps(deps: PipelineDeps): Step[] {
  const { adapter, cache, journal, config, port, signal, capabilities } = deps;
  const backend = adapter.backend.id;
  // The plan follows what the cloud declares and what the unit's driver can do, never a backend's name.
  const cloud = adapter.steps;
  const firmwareFromCloud = config.firmware.source === 'cloud';
  // Every step after identify has a connected driver.
  const driverOf = (unit: UnitState) => unit.driver!;
  const progress = (unit: UnitState, step: 'download' | 'flash') => (p: TransferProgress) => deps.emit({ type: 'progress', port, serial: unit.serial, step, ...p });
  // Credentials come from an activation; a cloud that registers units (Fleet Freedom) gives none.
  const writesCredentials = cloud.activate !== undefined && capabilities.credentials;

  const steps: Step[] = [
    {
      name: 'identify',
      run: async (unit) => {
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
          journal.reopenUnit(failed.id);
          unit.unitId = failed.id;
          takeHeldCredentials(deps, unit, failed);
          return;
        }
        // A unit that comes back to finish (credentials owed, or a crash mid-way) continues its own record.
        const previous = journal.latestUnit(serial);
        const continues = previous && (previous.result === 'in-progress' || (previous.result !== 'failed' && previous.credentialsState === 'pending'));
        unit.unitId = continues ? previous.id : journal.startUnit(serial, port).id;
        if (previous) takeHeldCredentials(deps, unit, previous);
      },
    },
  ];

  if (cloud.register) {
    steps.push({
      name: 'register',
      cloudStep: 'register',
      run: async (unit) => void (await adapter.register!(unit.serial!, { signal })),
      deferrable: { call: 'register', payload: (unit) => ({ serial: unit.serial }) },
    });
  }
  if (cloud.activate) {
    steps.push({
      name: 'activate',
      cloudStep: 'activate',
      run: async (unit) => {
        // The station already holds this unit's credentials: a new activation would revoke them (or, on Exosite, be refused).
        if (unit.credentials) return `credentials the station already holds for this unit (record ${unit.credentialsFrom}); no new activation`;
        // Exosite activates once: only while this very unit still answers on this port.
        const canDeliverCredentials = async () => (await driverOf(unit).identify({ signal })).serial === unit.serial;
        unit.credentials = await adapter.activate!(unit.serial!, { signal, canDeliverCredentials });
        unit.credentialsFrom = unit.unitId;
        journal.storeCredentials(unit.unitId!, unit.credentials, 'held');
      },
      deferrable: { call: 'activate', payload: (unit) => ({ serial: unit.serial }) },
      offlineSkip: cloud.activate.offlineSkip,
    });
  }
  if (cloud.rename && config.thingNameTemplate) {
    const template = config.thingNameTemplate;
    const name = (unit: UnitState) => template.replaceAll('{serial}', unit.serial!);
    steps.push({
      name: 'rename',
      cloudStep: 'rename',
      run: async (unit) => adapter.rename!(unit.credentials!, name(unit), { signal }),
      deferrable: { call: 'rename', payload: (unit) => ({ name: name(unit) }) },
    });
  }

  const knownTarget = async (unit: UnitState) => {
    const id = config.firmware.source === 'file' ? config.firmware.versionId : journal.setting(LAST_TARGET(backend));
    if (!id) throw noTarget();
    unit.target = { id };
    journal.setCloudIds(unit.unitId!, { versionId: id });
  };
  steps.push(
    {
      name: 'target-version',
      cloudStep: firmwareFromCloud ? 'target-version' : undefined,
      run: async (unit) => {
        if (!firmwareFromCloud || !unit.credentials) return knownTarget(unit);
        unit.target = await adapter.targetVersion!(unit.credentials, { signal });
        journal.setSetting(LAST_TARGET(backend), unit.target.id);
        journal.setCloudIds(unit.unitId!, { versionId: unit.target.id });
      },
      offline: knownTarget,
    },
    {
      name: 'current-version',
      run: async (unit) => {
        unit.deviceVersion = capabilities.readVersion ? await driverOf(unit).readVersion({ signal }) : undefined;
      },
    },
  );

  const cachedImage = async (unit: UnitState) => {
    unit.image = config.firmware.source === 'file' ? await cache.pinned(config.firmware.path, config.firmware.versionId) : await cache.cached(unit.target!.id);
    if (!unit.image) throw notCached(unit.target!.id);
  };
  steps.push(
    {
      name: 'download',
      cloudStep: firmwareFromCloud ? 'download' : undefined,
      run: async (unit) => {
        if (unit.deviceVersion === unit.target!.id) return false;
        if (config.firmware.source === 'file') return cachedImage(unit);
        const cached = await cache.cached(unit.target!.id);
        if (cached) {
          unit.image = cached;
          return;
        }
        // Without credentials (an activation waiting in the outbox) nothing can be downloaded, even online.
        if (!unit.credentials) return cachedImage(unit);
        unit.image = await cache.get({ credentials: unit.credentials, version: unit.target!, onProgress: progress(unit, 'download'), signal });
      },
      offline: async (unit) => {
        if (unit.deviceVersion !== unit.target!.id) await cachedImage(unit);
      },
    },
    {
      name: 'flash',
      run: async (unit) => {
        if (!unit.image) return false;
        if (!capabilities.flash) {
          throw new StationError('PROFILE_UNSUPPORTED', `the unit runs ${unit.deviceVersion ?? 'no firmware'}, not ${unit.target!.id}, and its profile cannot flash`, {
            hint: 'Add a flash command to the device profile, or flash this unit with the vendor tool.',
          });
        }
        await driverOf(unit).flash(unit.image, { signal, onProgress: progress(unit, 'flash') });
      },
    },
  );

  if (writesCredentials) {
    steps.push(
      { name: 'write-credentials', needsCredentials: true, run: async (unit) => driverOf(unit).writeCredentials(unit.credentials!, { signal }) },
      {
        name: 'verify-credentials',
        needsCredentials: true,
        run: async (unit) => {
          await driverOf(unit).verifyCredentials(unit.credentials!, { signal });
          journal.setCredentialsState(unit.unitId!, 'written');
        },
      },
    );
  }

  if (capabilities.reboot) {
    steps.push({
      name: 'reboot',
      run: async (unit) => {
        const boot = await driverOf(unit).reboot({ signal });
        if (boot.serial !== unit.serial) {
          throw new StationError('REBOOT_MISMATCH', `after reboot the port reports unit ${boot.serial}, not ${unit.serial}`, { hint: 'Was the unit swapped? Plug the right unit back in.' });
        }
        if (boot.version !== unit.target!.id) {
          throw new StationError('BOOTED_WRONG_VERSION', `the unit booted version ${boot.version ?? 'none'}, not ${unit.target!.id}`, {
            hint: 'The new image did not start; the unit keeps its old image. Retry the flash, or set the unit aside.',
            retryable: true,
          });
        }
      },
    });
  }

  if (cloud.confirm) {
    steps.push({
      name: 'confirm',
      cloudStep: 'confirm',
      // Deferred behind an activation, the replayer confirms with the credentials the activation returns.
      needsCredentials: true,
      run: async (unit) => adapter.confirmVersion!(unit.credentials!, unit.target!.id, { signal }),
      deferrable: { call: 'confirm', payload: (unit) => ({ versionId: unit.target!.id }) },
    });
  }
  return steps;
}

/**
 * Credentials the station holds for this unit and never delivered (the unit
 * failed or the station stopped before writing them) are the ones it gets:
 * a second activation would revoke them (GadgetKeeper) or be refused, the
 * unit locked out (Exosite, where activation works once: there even
 * delivered credentials are reused). Credentials the cloud refused are not.
 */
function takeHeldCredentials(deps: PipelineDeps, unit: UnitState, previous: UnitRecord): void {
  const oneShot = deps.adapter.steps.activate?.retrySafe === false && deps.adapter.steps.activate.replaySafe === false;
  const undelivered = previous.credentialsState === 'held' || previous.credentialsState === 'pending';
  if (!undelivered && !(oneShot && previous.credentialsState === 'written')) return;
  const held = deps.journal.credentials(previous.id);
  if (!held) return;
  unit.credentials = held;
  unit.credentialsFrom = previous.id;
  if (previous.id !== unit.unitId) deps.journal.storeCredentials(unit.unitId!, held, 'held');
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
    thingId: unit.credentials?.thingId,
    versionId: unit.target?.id,
    steps,
    unitId: unit.unitId,
  };
  deps.emit(final);
  return final;
}
