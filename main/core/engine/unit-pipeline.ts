import type { CloudAdapter, CloudStep, ThingCredentials, VersionInfo } from '../cloud/cloud-adapter.ts';
import type { LineConfig } from '../config/line-config.ts';
import type { DeviceDriver, DriverCapabilities, FirmwareImage } from '../devices/driver.ts';
import { StationError, isStationError } from '../errors.ts';
import type { Journal } from '../storage/journal.ts';
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

/** The outbox calls the replayer knows how to make. */
export type OutboxCall = 'activate' | 'rename' | 'confirmVersion' | 'register';

/** What the steps learn as the unit goes along. */
interface UnitState {
  driver?: DeviceDriver;
  serial?: string;
  unitId?: number;
  credentials?: ThingCredentials;
  target?: VersionInfo;
  image?: FirmwareImage;
  deviceVersion?: string;
  /** Cloud calls left in the outbox: once one is, every later cloud call follows it there, in order. */
  deferred: OutboxCall[];
}

interface Step {
  name: PipelineStep;
  /** Returns false when the step had nothing to do (recorded as skipped). */
  run: (unit: UnitState) => Promise<boolean | void>;
  /** A cloud call that may wait in the outbox when the cloud cannot be reached. */
  deferrable?: { call: OutboxCall; payload: (unit: UnitState) => Record<string, unknown> };
  /** Without the cloud: what to do instead (read what the station already knows). */
  offline?: (unit: UnitState) => Promise<void>;
  /** Without the cloud and not deferrable: why the step is skipped (recorded with the unit). */
  offlineSkip?: string;
  /** Cannot run without the unit's cloud credentials. */
  needsCredentials?: boolean;
}

const LAST_TARGET = (backend: string) => `last-target:${backend}`;
const STEP_OF_CALL: Record<OutboxCall, CloudStep> = { activate: 'activate', rename: 'rename', confirmVersion: 'confirmVersion', register: 'register' };

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

/** Runs a step, or defers or replaces it when the cloud is out of reach. Returns undefined when done, else why it was skipped. */
async function runStep(deps: PipelineDeps, step: Step, unit: UnitState): Promise<string | undefined> {
  const { journal, adapter, connectivity } = deps;
  const defer = (deferrable: NonNullable<Step['deferrable']>) => {
    unit.deferred.push(deferrable.call);
    journal.enqueue(unit.unitId!, adapter.backend, deferrable.call, deferrable.payload(unit));
    return 'queued for replay when the cloud is back';
  };
  const replaySafe = (deferrable: Step['deferrable']) => deferrable !== undefined && adapter.steps[STEP_OF_CALL[deferrable.call]]?.replaySafe === true;

  if (step.deferrable && unit.deferred.length > 0) return defer(step.deferrable);
  if (step.needsCredentials && !unit.credentials) return 'no cloud credentials for this unit yet';
  const cloudStep = step.deferrable !== undefined || step.offline !== undefined || step.offlineSkip !== undefined;
  if (cloudStep && !connectivity.online) {
    if (replaySafe(step.deferrable)) return defer(step.deferrable!);
    if (step.offline) return void (await step.offline(unit));
    if (step.offlineSkip) return `offline: ${step.offlineSkip}`;
  }
  try {
    const did = await step.run(unit);
    return did === false ? '' : undefined;
  } catch (error) {
    if (!isConnectivityFailure(error)) throw error;
    connectivity.markOffline();
    if (replaySafe(step.deferrable)) return defer(step.deferrable!);
    if (step.offline) return void (await step.offline(unit));
    if (step.offlineSkip) return `offline: ${step.offlineSkip}`;
    throw error;
  }
}

function planSteps(deps: PipelineDeps): Step[] {
  const { adapter, cache, journal, config, port, signal, capabilities } = deps;
  const backend = adapter.backend;
  // Every step after identify has a connected driver.
  const driverOf = (unit: UnitState) => unit.driver!;
  const progress = (unit: UnitState, step: 'download' | 'flash') => (p: TransferProgress) => deps.emit({ type: 'progress', port, serial: unit.serial, step, ...p });
  const writesCredentials = backend !== 'fleetfreedom' && capabilities.credentials;

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
          // No second activation: it would revoke the key this unit may already hold.
          unit.credentials = journal.credentials(failed.id);
          return;
        }
        // A unit that comes back to finish (credentials owed, or a crash mid-way) continues its own record.
        const previous = journal.latestUnit(serial);
        const continues = previous && (previous.result === 'in-progress' || (previous.result !== 'failed' && previous.credentialsState === 'pending'));
        unit.unitId = continues ? previous.id : journal.startUnit(serial, port).id;
        if (continues && previous.credentialsState === 'pending') unit.credentials = journal.credentials(previous.id);
      },
    },
  ];

  if (backend === 'fleetfreedom') {
    steps.push({
      name: 'register',
      run: async (unit) => void (await adapter.register(unit.serial!, { signal })),
      deferrable: { call: 'register', payload: (unit) => ({ serial: unit.serial }) },
    });
  } else {
    steps.push({
      name: 'activate',
      run: async (unit) => {
        // The station already holds this unit's credentials (it owes them to the unit): no new activation.
        if (unit.credentials) return false;
        // Exosite activates once: only while this very unit still answers on this port.
        const canDeliverCredentials = async () => (await driverOf(unit).identify({ signal })).serial === unit.serial;
        unit.credentials = await adapter.activate(unit.serial!, { signal, canDeliverCredentials });
        journal.storeCredentials(unit.unitId!, unit.credentials, 'held');
      },
      deferrable: { call: 'activate', payload: (unit) => ({ serial: unit.serial }) },
      offlineSkip: 'Exosite activation is one-shot and never replayed without the unit; the unit activates itself in the field',
    });
  }
  if (backend === 'gadgetkeeper' && config.thingNameTemplate) {
    const template = config.thingNameTemplate;
    const name = (unit: UnitState) => template.replaceAll('{serial}', unit.serial!);
    steps.push({
      name: 'rename',
      run: async (unit) => adapter.rename(unit.credentials!, name(unit), { signal }),
      deferrable: { call: 'rename', payload: (unit) => ({ name: name(unit) }) },
    });
  }

  const knownTarget = async (unit: UnitState) => {
    const id = journal.setting(LAST_TARGET(backend));
    if (!id) {
      throw new StationError('OFFLINE_NO_TARGET', 'the cloud cannot be reached and the station has never learned the target version', {
        hint: 'Connect the station to the internet for the first unit of a batch.',
        retryable: true,
      });
    }
    unit.target = { id };
  };
  steps.push(
    {
      name: 'target-version',
      run: async (unit) => {
        if (config.firmware.source === 'file') {
          unit.target = { id: config.firmware.versionId };
        } else if (unit.credentials) {
          unit.target = await adapter.targetVersion(unit.credentials, { signal });
          journal.setSetting(LAST_TARGET(backend), unit.target.id);
        } else {
          await knownTarget(unit);
        }
        journal.setCloudIds(unit.unitId!, { versionId: unit.target!.id });
      },
      offline: async (unit) => {
        if (config.firmware.source === 'file') unit.target = { id: config.firmware.versionId };
        else await knownTarget(unit);
        journal.setCloudIds(unit.unitId!, { versionId: unit.target!.id });
      },
    },
    {
      name: 'current-version',
      run: async (unit) => {
        unit.deviceVersion = capabilities.readVersion ? await driverOf(unit).readVersion({ signal }) : undefined;
      },
    },
    {
      name: 'download',
      run: async (unit) => {
        if (unit.deviceVersion === unit.target!.id) return false;
        if (config.firmware.source === 'file') {
          unit.image = await cache.pinned(config.firmware.path, config.firmware.versionId);
          return;
        }
        const cached = await cache.cached(unit.target!.id);
        if (cached) {
          unit.image = cached;
          return;
        }
        if (!unit.credentials || !deps.connectivity.online) {
          throw new StationError('OFFLINE_FIRMWARE_MISSING', `the firmware ${unit.target!.id} is not cached and the cloud cannot be reached`, {
            hint: 'Let one unit through while online so the firmware is downloaded, or retry when the connection is back.',
            retryable: true,
          });
        }
        unit.image = await cache.get({ credentials: unit.credentials, version: unit.target!, onProgress: progress(unit, 'download'), signal });
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

  if (adapter.steps.confirmVersion) {
    steps.push({
      name: 'confirm',
      // Deferred behind an activation, the replayer confirms with the credentials the activation returns.
      needsCredentials: true,
      run: async (unit) => adapter.confirmVersion(unit.credentials!, unit.target!.id, { signal }),
      deferrable: { call: 'confirmVersion', payload: (unit) => ({ versionId: unit.target!.id }) },
    });
  }
  return steps;
}

function describe(error: unknown, port: string, serial: string | undefined, step: PipelineStep): string {
  if (isStationError(error)) return error.at({ port, serial, step }).describe();
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
