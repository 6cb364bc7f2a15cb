import type { CallSafety, CloudAdapter, CloudStep, OutboxCall, ThingCredentials, VersionInfo } from '../../cloud/cloud-adapter.ts';
import type { LineConfig } from '../../config/line-config.ts';
import type { DeviceDriver, DriverCapabilities, FirmwareImage } from '../../devices/driver.ts';
import { slotOf } from '../../config/line-config.ts';
import type { AttemptTrace, Journal } from '../../storage/journal.ts';
import type { LabelPrinter } from '../../labels/label-printer.ts';
import type { TransferProgress } from '../../transfer/progress.ts';
import type { ActiveSerials } from '../active-serials.ts';
import type { Connectivity } from '../connectivity.ts';
import type { PipelineStep, StationEvent } from '../events.ts';
import type { OperatorPrompts } from '../operator-prompts.ts';
import type { FirmwareCache } from '../firmware-cache.ts';

/** Everything a unit's pipeline runs with, on one port. */
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
  /** Where steps ask the operator (a label to scan). */
  prompts: OperatorPrompts;
  /** Who is at the station, for records and labels. */
  operator?: string;
  /** The port's slot name, for records and labels. */
  slot?: string;
  /** This station's name and the line configuration's hash (secrets left out), for every attempt's record. */
  stationId?: string;
  configHash?: string;
  /** Where labels go, when the line prints them. */
  printer?: LabelPrinter;
}

/** What the steps learn as the unit goes along. */
export interface UnitState {
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
  /** The unit passed, but its label could not be printed: why. */
  labelNotPrinted?: string;
}

/** Who, where and with what this unit's attempt runs, as its record keeps it. */
export function attemptTrace(deps: PipelineDeps): AttemptTrace {
  return { slot: deps.slot ?? slotOf(deps.config.ports, deps.port), operator: deps.operator, stationId: deps.stationId, configHash: deps.configHash };
}

/** One step as it runs for one unit. */
export interface Step {
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

/** What decides a line's plan before any unit is plugged in: the cloud's declared steps, the driver's capabilities, the configuration. */
export interface PlanContext {
  cloud: Readonly<Partial<Record<CloudStep, CallSafety>>>;
  capabilities: DriverCapabilities;
  config: Pick<LineConfig, 'thingNameTemplate' | 'firmware'> & Partial<Pick<LineConfig, 'labels'>>;
}

/**
 * A pipeline step as a module: whether it applies to a line, and how it runs
 * for a unit. A new step (a label check, a label print, a native driver's own
 * step) is one more of these in step-plan.ts.
 */
export interface StepModule {
  name: PipelineStep;
  applies(context: PlanContext): boolean;
  create(deps: PipelineDeps): Step;
}

/** Every step after identify has a connected driver. */
export function driverOf(unit: UnitState): DeviceDriver {
  return unit.driver!;
}

/** Progress of a download or a flash, as events for the screens and the command line. */
export function progressOf(deps: PipelineDeps, unit: UnitState, step: 'download' | 'flash'): (progress: TransferProgress) => void {
  return (progress) => deps.emit({ type: 'progress', port: deps.port, serial: unit.serial, step, ...progress });
}
