import type { CloudAdapter, ThingCredentials, VersionInfo } from '../cloud/cloud-adapter.ts';
import type { LineConfig } from '../config/line-config.ts';
import type { DeviceDriver, DriverCapabilities, FirmwareImage } from '../devices/driver.ts';
import { StationError, isStationError } from '../errors.ts';
import type { Journal } from '../storage/journal.ts';
import type { TransferProgress } from '../transfer/progress.ts';
import type { ActiveSerials } from './active-serials.ts';
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
  emit: (event: StationEvent) => void;
  signal?: AbortSignal;
}

/** What the steps learn as the unit goes along. */
interface UnitState {
  driver?: DeviceDriver;
  serial?: string;
  unitId?: number;
  credentials?: ThingCredentials;
  target?: VersionInfo;
  image?: FirmwareImage;
  deviceVersion?: string;
}

interface Step {
  name: PipelineStep;
  /** Returns false when the step had nothing to do (recorded as skipped). */
  run: (unit: UnitState) => Promise<boolean | void>;
}

/**
 * One unit through the line, on one port. Each step is written to the journal
 * before and after it runs, so a restart knows where every unit stood. The
 * cloud learns the installed version only after the unit has booted it.
 */
export async function runUnit(deps: PipelineDeps): Promise<UnitOutcome> {
  const unit: UnitState = {};
  const timings: Partial<Record<PipelineStep, number>> = {};
  const plan = planSteps(deps);
  try {
    for (const step of plan) {
      const started = performance.now();
      deps.emit({ type: 'step', port: deps.port, serial: unit.serial, step: step.name, status: 'started' });
      if (unit.unitId !== undefined) deps.journal.recordStep(unit.unitId, step.name, 'started');
      try {
        const did = await step.run(unit);
        const durationMs = Math.round(performance.now() - started);
        timings[step.name] = durationMs;
        const status = did === false ? 'skipped' : 'done';
        if (unit.unitId !== undefined) deps.journal.recordStep(unit.unitId, step.name, status, { durationMs });
        deps.emit({ type: 'step', port: deps.port, serial: unit.serial, step: step.name, status, durationMs });
      } catch (error) {
        const described = describe(error, deps.port, unit.serial, step.name);
        timings[step.name] = Math.round(performance.now() - started);
        if (unit.unitId === undefined) unit.unitId = deps.journal.startUnit(unit.serial ?? '', deps.port).id;
        deps.journal.recordStep(unit.unitId, step.name, 'failed', { durationMs: timings[step.name], detail: described });
        deps.journal.finishUnit(unit.unitId, 'failed', { step: step.name, error: described });
        deps.emit({ type: 'step', port: deps.port, serial: unit.serial, step: step.name, status: 'failed', error: described });
        return outcome(deps, unit, timings, 'failed', step.name, described);
      }
    }
    deps.journal.finishUnit(unit.unitId!, 'passed');
    return outcome(deps, unit, timings, 'passed');
  } finally {
    if (unit.serial !== undefined) deps.activeSerials.release(unit.serial, deps.port);
    await unit.driver?.close().catch(() => undefined);
  }
}

function planSteps(deps: PipelineDeps): Step[] {
  const { adapter, cache, journal, config, port, signal, capabilities } = deps;
  // Every step after identify has a connected driver.
  const driverOf = (unit: UnitState) => unit.driver!;
  const backend = adapter.backend;
  const progress = (unit: UnitState, step: 'download' | 'flash') => (p: TransferProgress) =>
    deps.emit({ type: 'progress', port, serial: unit.serial, step, ...p });
  const writesCredentials = backend !== 'fleetfreedom' && capabilities.credentials;

  const steps: Step[] = [
    {
      name: 'identify',
      run: async (unit) => {
        unit.driver = await deps.connect();
        const { serial } = await unit.driver.identify({ signal });
        unit.serial = serial;
        deps.activeSerials.claim(serial, port);
        unit.unitId = journal.startUnit(serial, port).id;
      },
    },
  ];

  if (backend === 'fleetfreedom') {
    steps.push({ name: 'register', run: async (unit) => void (await adapter.register(unit.serial!, { signal })) });
  } else {
    steps.push({
      name: 'activate',
      run: async (unit) => {
        // Exosite activates once: only while this very unit still answers on this port.
        const canDeliverCredentials = async () => (await driverOf(unit).identify({ signal })).serial === unit.serial;
        unit.credentials = await adapter.activate(unit.serial!, { signal, canDeliverCredentials });
        journal.storeCredentials(unit.unitId!, unit.credentials, 'held');
      },
    });
  }
  if (backend === 'gadgetkeeper' && config.thingNameTemplate) {
    const template = config.thingNameTemplate;
    steps.push({ name: 'rename', run: async (unit) => adapter.rename(unit.credentials!, template.replaceAll('{serial}', unit.serial!), { signal }) });
  }

  steps.push(
    {
      name: 'target-version',
      run: async (unit) => {
        unit.target =
          config.firmware.source === 'file' ? { id: config.firmware.versionId } : await adapter.targetVersion(unit.credentials!, { signal });
        journal.setCloudIds(unit.unitId!, { versionId: unit.target.id });
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
        unit.image =
          config.firmware.source === 'file'
            ? await cache.pinned(config.firmware.path, config.firmware.versionId)
            : await cache.get({ credentials: unit.credentials!, version: unit.target!, onProgress: progress(unit, 'download'), signal });
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
      { name: 'write-credentials', run: async (unit) => driverOf(unit).writeCredentials(unit.credentials!, { signal }) },
      {
        name: 'verify-credentials',
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
    steps.push({ name: 'confirm', run: async (unit) => adapter.confirmVersion(unit.credentials!, unit.target!.id, { signal }) });
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
): UnitOutcome {
  const final: UnitOutcome = {
    type: 'unit',
    port: deps.port,
    serial: unit.serial,
    result,
    failedStep,
    error,
    thingId: unit.credentials?.thingId,
    versionId: unit.target?.id,
    steps,
    unitId: unit.unitId,
  };
  deps.emit(final);
  return final;
}
