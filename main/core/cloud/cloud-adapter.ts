import type { TransferProgress } from '../transfer/progress.ts';

export type CloudBackend = 'gadgetkeeper' | 'exosite' | 'fleetfreedom';

/** Every cloud call the station engine may make, whatever the backend. */
export type CloudStep = 'activate' | 'rename' | 'targetVersion' | 'currentVersion' | 'downloadFirmware' | 'confirmVersion' | 'register';

/**
 * How a call may be repeated. retrySafe: the same call may be sent again after
 * a failure whose outcome is unknown. replaySafe: the call may run later from
 * the offline outbox, without the unit attached.
 */
export interface CallSafety {
  retrySafe: boolean;
  replaySafe: boolean;
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
}

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
 * One interface for the station engine, whatever the cloud. An adapter says
 * which steps it supports and how safe each is to repeat; a step it does not
 * support is absent from `steps` and its method throws.
 */
export interface CloudAdapter {
  readonly backend: CloudBackend;
  readonly steps: Partial<Record<CloudStep, CallSafety>>;
  activate(serial: string, options?: ActivateOptions): Promise<ThingCredentials>;
  rename(credentials: ThingCredentials, name: string, options?: CallOptions): Promise<void>;
  targetVersion(credentials: ThingCredentials, options?: CallOptions): Promise<VersionInfo>;
  /** undefined when the thing has confirmed no version yet. */
  currentVersion(credentials: ThingCredentials, options?: CallOptions): Promise<VersionInfo | undefined>;
  downloadFirmware(credentials: ThingCredentials, version: VersionInfo, options: DownloadOptions): Promise<DownloadedFirmware>;
  confirmVersion(credentials: ThingCredentials, versionId: string, options?: CallOptions): Promise<void>;
  /** Resolves when the cloud answers at all (any status); throws a network or timeout CloudError when it cannot be reached. */
  probe(options?: CallOptions): Promise<void>;
  /** Fleet Freedom: adds the unit as a provider; an existing one counts as registered. */
  register(serial: string, options?: CallOptions): Promise<{ alreadyRegistered: boolean }>;
  close(): Promise<void>;
}
