import type { PipelineStep } from '../../../contract/pipeline-steps.ts';
import type { TransferProgress } from '../transfer/progress.ts';

/** Which cloud: a stable id (configuration, journal, cache keys) and the name people read. */
export interface CloudBackend {
  readonly id: string;
  readonly label: string;
  /** Whether one version id may name different images over time or across models (Exosite's content names): such ids need a revision. */
  readonly reusesVersionIds?: boolean;
}

/**
 * The pipeline steps that call a cloud, by the pipeline's own names: one
 * vocabulary for the pipeline, the adapters, their errors and the outbox.
 */
export type CloudStep = Extract<PipelineStep, 'activate' | 'register' | 'rename' | 'target-version' | 'download' | 'confirm'>;

/**
 * Which cloud issued something (a unit's credentials): "<backend> <origin>",
 * then what scopes ids inside it (Exosite's vendor/model), each URL-encoded
 * so two different clouds never read the same. Only the origin, not the path:
 * it is where a secret goes, as the settings' own secret is checked.
 */
export function cloudAccount(backend: CloudBackend, url: string, ...scope: string[]): string {
  return [backend.id, new URL(url).origin, ...scope.map(encodeURIComponent)].join(' ');
}

/** The cloud calls that may wait in the offline outbox. */
export type OutboxCall = Extract<CloudStep, 'activate' | 'register' | 'rename' | 'confirm'>;

/**
 * How a call may be repeated. retrySafe: the same call may be sent again after
 * a failure whose outcome is unknown. replaySafe: the call may run later from
 * the offline outbox, without the unit attached.
 */
export interface CallSafety {
  retrySafe: boolean;
  replaySafe: boolean;
  /**
   * A call that is neither: why it is skipped (not deferred) while the cloud
   * cannot be reached, recorded with the unit (Exosite activation is one-shot:
   * the unit activates itself in the field).
   */
  offlineSkip?: string;
}

/** Idempotent reads and writes: safe to send again and to run later from the outbox. */
export const REPEATABLE: CallSafety = Object.freeze({ retrySafe: true, replaySafe: true });

/** What a unit needs to talk to the cloud. For Exosite, thingId is the serial number and apiKey the CIK. */
export interface ThingCredentials {
  thingId: string;
  apiKey: string;
}

export interface VersionInfo {
  id: string;
  name?: string;
  description?: string;
  /** Known size in bytes, when the cloud says it before the download. */
  size?: number;
  /**
   * Which upload of this id, where a cloud publishes new bytes under an id it
   * keeps (Exosite: a fix re-uploaded as the same content, told apart by its
   * updated time); absent where an id names one image for good. Only the
   * station's firmware cache reads it: the unit, its record and the confirm
   * call carry the id the cloud knows.
   */
  revision?: string;
}

/** What names one image of a cloud: its version id and, where the cloud reuses ids, the revision. */
export type VersionRef = Pick<VersionInfo, 'id' | 'revision'>;

export interface DownloadedFirmware {
  path: string;
  size: number;
  /** Lowercase hex SHA-256 of the file as written. */
  sha256: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface DownloadOptions extends CallOptions {
  /** Where to write the image; written to a temporary name first and renamed when complete and verified. */
  destination: string;
  onProgress?: (progress: TransferProgress) => void;
  /** The largest image accepted (the line's maxFirmwareBytes); the adapter's own limit when absent. */
  maxBytes?: number;
}

export interface ActivateOptions extends CallOptions {
  /**
   * Asked right before a one-shot activation (Exosite): false means the unit
   * cannot receive the result now, and the activation is not made.
   */
  canDeliverCredentials?: () => Promise<boolean>;
}

/**
 * One interface for the station engine, whatever the cloud. An adapter
 * declares in `steps` which pipeline steps it takes and how safe each is to
 * repeat, and has exactly the methods of those steps: the pipeline plans a
 * unit from the declaration, never from the backend's name.
 */
export interface CloudAdapter {
  readonly backend: CloudBackend;
  /**
   * The cloud this adapter speaks to, as cloudAccount() writes it: its
   * backend, the origin its calls go to, and whatever scopes ids there. The
   * credentials a cloud issues are kept under it and never sent to another.
   */
  readonly account: string;
  readonly steps: Readonly<Partial<Record<CloudStep, CallSafety>>>;
  /** activate: a new thing (or the existing one) and its credentials for a serial number. */
  activate?(serial: string, options?: ActivateOptions): Promise<ThingCredentials>;
  /** register: adds the unit (e.g. as a Fleet Freedom provider); an existing one counts as registered. */
  register?(serial: string, options?: CallOptions): Promise<{ alreadyRegistered: boolean }>;
  /** rename: names the thing (thingNameTemplate). */
  rename?(credentials: ThingCredentials, name: string, options?: CallOptions): Promise<void>;
  /** target-version: the version the unit should run. */
  targetVersion?(credentials: ThingCredentials, options?: CallOptions): Promise<VersionInfo>;
  /** download: that version's firmware, to a file. */
  downloadFirmware?(credentials: ThingCredentials, version: VersionInfo, options: DownloadOptions): Promise<DownloadedFirmware>;
  /** confirm: tells the cloud the unit booted this version. */
  confirmVersion?(credentials: ThingCredentials, versionId: string, options?: CallOptions): Promise<void>;
  /** Resolves when the cloud answers at all (any status); throws a network or timeout CloudError when it cannot be reached. */
  probe(options?: CallOptions): Promise<void>;
  close(): Promise<void>;
}
