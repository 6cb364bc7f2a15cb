import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { ProgressMeter } from '../transfer/progress.ts';
import type {
  ActivateOptions,
  CallOptions,
  CallSafety,
  CloudAdapter,
  CloudStep,
  DownloadOptions,
  DownloadedFirmware,
  ThingCredentials,
  VersionInfo,
} from './cloud-adapter.ts';
import { REPEATABLE } from './cloud-adapter.ts';
import { CloudError } from './cloud-error.ts';
import { FirmwareFileWriter } from './firmware-file.ts';
import { createHttpClient, invalidResponse, requestWithRetry, statusError, transportError, withRetry, type HttpSettings } from './http.ts';

export interface GadgetKeeperPaths {
  activate: string;
  rename: string;
  targetVersion: string;
  currentVersion: string;
  firmware: string;
  switchVersion: string;
}

/** The spec's documented and [station default] paths; each is configurable. */
export const DEFAULT_GADGETKEEPER_PATHS: GadgetKeeperPaths = {
  activate: '/v1/things/activate/{serialNumber}.json',
  rename: '/v1/things/{thingId}.json',
  targetVersion: '/v1/things/{thingId}/versions/target.json',
  currentVersion: '/v1/things/{thingId}/versions/current.json',
  firmware: '/v1/things/{thingId}/versions/{versionId}/firmware.json',
  switchVersion: '/v1/things/{thingId}/versions/current.json',
};

export interface GadgetKeeperSettings extends HttpSettings {
  /** Sent as X-ApiKey on activation, for accounts that require a product key. */
  productKey?: string;
  paths?: Partial<GadgetKeeperPaths>;
  /** Largest firmware image accepted. */
  maxFirmwareBytes?: number;
}

const hex32 = z.string().regex(/^[0-9a-f]{32}$/);
const activationSchema = z.object({ thingId: hex32, apiKey: hex32 });
const versionSchema = z.object({ id: hex32, name: z.string().max(500).optional(), description: z.string().max(5000).optional() });

/**
 * The GadgetKeeper Provision API. Activation issues a new key and revokes the
 * previous one, so it is never repeated after an unanswered attempt: the
 * caller gets an error marked outcomeUnknown and decides.
 */
export class GadgetKeeperAdapter implements CloudAdapter {
  readonly backend = 'gadgetkeeper' as const;
  readonly steps: Partial<Record<CloudStep, CallSafety>> = {
    activate: { retrySafe: false, replaySafe: true },
    rename: REPEATABLE,
    targetVersion: REPEATABLE,
    currentVersion: REPEATABLE,
    downloadFirmware: REPEATABLE,
    confirmVersion: REPEATABLE,
  };
  private readonly http: AxiosInstance;
  private readonly settings: GadgetKeeperSettings;
  private readonly paths: GadgetKeeperPaths;

  constructor(settings: GadgetKeeperSettings) {
    this.settings = settings;
    this.http = createHttpClient(settings, 'gadgetkeeper');
    this.paths = { ...DEFAULT_GADGETKEEPER_PATHS, ...settings.paths };
  }

  async activate(serial: string, options: ActivateOptions = {}): Promise<ThingCredentials> {
    const context = { backend: this.backend, step: 'activate' as const, serial };
    let response: AxiosResponse<string>;
    try {
      response = await this.http.put(fill(this.paths.activate, { serialNumber: serial }), undefined, {
        headers: this.settings.productKey ? { 'X-ApiKey': this.settings.productKey } : {},
        signal: options.signal,
      });
    } catch (error) {
      // The request may have reached the cloud and issued a key we never saw.
      throw transportError(error, context, true);
    }
    if (response.status === 404) {
      throw statusError(response, context, `serial number ${serial} is not registered with this product`, {
        hint: 'Check that the unit belongs to this product, or register its serial number with the vendor.',
        retryable: false,
      });
    }
    if (response.status !== 200) throw statusError(response, context, `activation of ${serial} failed`);
    return this.parse(activationSchema, response, context, 'an activation without thingId and apiKey');
  }

  async rename(credentials: ThingCredentials, name: string, options: CallOptions = {}): Promise<void> {
    await this.call('rename', credentials, options, (headers) =>
      this.http.put(fill(this.paths.rename, { thingId: credentials.thingId }), JSON.stringify({ name }), { headers: json(headers), signal: options.signal }),
    );
  }

  async targetVersion(credentials: ThingCredentials, options: CallOptions = {}): Promise<VersionInfo> {
    const context = { backend: this.backend, step: 'targetVersion' as const };
    const response = await this.call('targetVersion', credentials, options, (headers) =>
      this.http.get(fill(this.paths.targetVersion, { thingId: credentials.thingId }), { headers, signal: options.signal }),
    );
    return this.parse(versionSchema, response, context, 'a target version without an id');
  }

  async currentVersion(credentials: ThingCredentials, options: CallOptions = {}): Promise<VersionInfo | undefined> {
    const context = { backend: this.backend, step: 'currentVersion' as const };
    const response = await this.call(
      'currentVersion',
      credentials,
      options,
      (headers) => this.http.get(fill(this.paths.currentVersion, { thingId: credentials.thingId }), { headers, signal: options.signal }),
      [404],
    );
    if (response.status === 404) return undefined;
    return this.parse(versionSchema, response, context, 'a current version without an id');
  }

  async confirmVersion(credentials: ThingCredentials, versionId: string, options: CallOptions = {}): Promise<void> {
    await this.call('confirmVersion', credentials, options, (headers) =>
      this.http.put(fill(this.paths.switchVersion, { thingId: credentials.thingId }), JSON.stringify({ id: versionId }), {
        headers: json(headers),
        signal: options.signal,
      }),
    );
  }

  /** Streams the image to disk; a body cut short is refused and the download starts over cleanly. */
  async downloadFirmware(credentials: ThingCredentials, version: VersionInfo, options: DownloadOptions): Promise<DownloadedFirmware> {
    const context = { backend: this.backend, step: 'downloadFirmware' as const };
    const max = this.settings.maxFirmwareBytes ?? 64 * 1024 * 1024;
    return withRetry(
      async () => {
        let response: AxiosResponse<Readable>;
        try {
          response = await this.http.get(fill(this.paths.firmware, { thingId: credentials.thingId, versionId: version.id }), {
            headers: { 'X-ApiKey': credentials.apiKey, Accept: 'application/json, application/octet-stream' },
            responseType: 'stream',
            signal: options.signal,
          });
        } catch (error) {
          throw transportError(error, context, false);
        }
        if (response.status !== 200) {
          response.data.resume();
          throw statusError(response, context, `the firmware of version ${version.id} could not be downloaded`);
        }
        const declared = Number(response.headers['content-length'] ?? NaN);
        const raw = String(response.headers['content-type'] ?? '').includes('application/octet-stream');
        const writer = await FirmwareFileWriter.open(options.destination);
        try {
          const meter = new ProgressMeter(Number.isFinite(declared) ? declared : (version.size ?? 0), options.onProgress);
          const json: Buffer[] = [];
          let received = 0;
          for await (const chunk of response.data as AsyncIterable<Buffer>) {
            received += chunk.length;
            if (received > (raw ? max : Math.ceil((max * 4) / 3) + 1024)) throw invalidResponse(context, `firmware larger than ${max} bytes`);
            if (raw) await writer.write(chunk);
            else json.push(chunk);
            meter.update(received);
          }
          if (Number.isFinite(declared) && received !== declared) {
            throw invalidResponse(context, `the firmware arrived truncated (${received} of ${declared} bytes)`);
          }
          if (!raw) await writer.write(decodeFirmwareJson(Buffer.concat(json), context));
          return await writer.finish();
        } catch (error) {
          await writer.pause();
          await FirmwareFileWriter.discard(options.destination);
          if (error instanceof CloudError || !isIoError(error)) throw error;
          throw transportError(error, context, false);
        }
      },
      { retrySafe: true, policy: this.settings.retry, signal: options.signal },
    );
  }

  async register(): Promise<{ alreadyRegistered: boolean }> {
    throw new CloudError('GadgetKeeper has no separate registration step', {
      backend: this.backend,
      cloudStep: 'register',
      failure: 'unsupported',
      retryable: false,
    });
  }

  async probe(options: CallOptions = {}): Promise<void> {
    await requestWithRetry(
      { backend: this.backend, step: 'targetVersion' },
      { retrySafe: false, signal: options.signal },
      () => this.http.get<string>('/', { signal: options.signal }),
      () => undefined,
    );
  }

  async close(): Promise<void> {}

  /** A thing-scoped call: X-ApiKey, retries where the step is safe, and the statuses every such call shares. */
  private async call(
    step: CloudStep,
    credentials: ThingCredentials,
    options: CallOptions,
    send: (headers: Record<string, string>) => Promise<AxiosResponse<string>>,
    alsoAccepted: number[] = [],
  ): Promise<AxiosResponse<string>> {
    const context = { backend: this.backend, step };
    const policy = { retrySafe: this.steps[step]?.retrySafe ?? false, policy: this.settings.retry, signal: options.signal };
    return requestWithRetry(context, policy, () => send({ 'X-ApiKey': credentials.apiKey }), (response) => {
      if (response.status === 401) {
        throw new CloudError(`GadgetKeeper refused the api key of thing ${credentials.thingId} (answered 401)`, {
          backend: this.backend,
          cloudStep: step,
          failure: 'unauthorized',
          status: 401,
          retryable: false,
          where: { step },
          hint: 'The key was revoked by a newer activation or is wrong; the unit must get the newest key.',
        });
      }
      if ((response.status >= 200 && response.status < 300) || alsoAccepted.includes(response.status)) return response;
      throw statusError(response, context, `${describeStep(step)} for thing ${credentials.thingId} failed`);
    });
  }

  private parse<S extends z.ZodType>(schema: S, response: AxiosResponse<string>, context: { backend: 'gadgetkeeper'; step: CloudStep }, what: string): z.output<S> {
    let body: unknown;
    try {
      body = JSON.parse(response.data);
    } catch {
      throw invalidResponse(context, `${what} (not JSON)`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw invalidResponse(context, what);
    return parsed.data;
  }
}

function describeStep(step: CloudStep): string {
  return { rename: 'renaming', targetVersion: 'reading the target version', currentVersion: 'reading the current version', confirmVersion: 'confirming the installed version' }[
    step as 'rename'
  ] ?? step;
}

function json(headers: Record<string, string>): Record<string, string> {
  return { ...headers, 'Content-Type': 'application/json' };
}

/** Fills {placeholders} in a path template; values are URL-encoded so a serial number cannot change the path. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? ''));
}

/** Strict base64 (Buffer.from would silently skip bad characters); linear, for images of many megabytes. */
function isStrictBase64(text: string): boolean {
  if (text.length % 4 !== 0) return false;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  for (let i = 0; i < text.length - padding; i++) {
    const c = text.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    if (!ok) return false;
  }
  return true;
}

/** Errors from sockets and streams carry a string code (ECONNRESET, ERR_STREAM_PREMATURE_CLOSE…); anything else is a bug to surface as is. */
function isIoError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';
}

function decodeFirmwareJson(body: Buffer, context: { backend: 'gadgetkeeper'; step: CloudStep }): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidResponse(context, 'the firmware answer is neither JSON nor application/octet-stream');
  }
  const firmware = z.object({ firmware: z.string().min(1) }).safeParse(parsed);
  if (!firmware.success || !isStrictBase64(firmware.data.firmware)) throw invalidResponse(context, 'the firmware is not valid base64');
  return Buffer.from(firmware.data.firmware, 'base64');
}
