import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { ProgressMeter } from '../../transfer/progress.ts';
import type {
  CloudBackend,
  ActivateOptions,
  CallOptions,
  CallSafety,
  CloudAdapter,
  CloudStep,
  DownloadOptions,
  DownloadedFirmware,
  ThingCredentials,
  VersionInfo,
} from '../cloud-adapter.ts';
import { cloudAccount, REPEATABLE } from '../cloud-adapter.ts';
import { CloudError } from '../cloud-error.ts';
import { DownloadAttempt, firmwareTooLarge } from '../download-attempt.ts';
import { FirmwareFileWriter } from '../firmware-file.ts';
import { createHttpClient, probeByGet, invalidResponse, requestWithRetry, retryPolicyFor, sendWithin, statusError, withRetry, type ErrorContext, type HttpSettings } from '../http.ts';
import { cloudLimits, type CloudLimits } from '../limits.ts';

export interface GadgetKeeperPaths {
  activate: string;
  rename: string;
  targetVersion: string;
  firmware: string;
  switchVersion: string;
}

/** The spec's documented and [station default] paths; each is configurable. */
export const DEFAULT_GADGETKEEPER_PATHS: GadgetKeeperPaths = {
  activate: '/v1/things/activate/{serialNumber}.json',
  rename: '/v1/things/{thingId}.json',
  targetVersion: '/v1/things/{thingId}/versions/target.json',
  firmware: '/v1/things/{thingId}/versions/{versionId}/firmware.json',
  switchVersion: '/v1/things/{thingId}/versions/current.json',
};

export interface GadgetKeeperSettings extends HttpSettings {
  /** Sent as X-ApiKey on activation, for accounts that require a product key. */
  productKey?: string;
  paths?: Partial<GadgetKeeperPaths>;
}

const hex32 = z.string().regex(/^[0-9a-f]{32}$/);
const activationSchema = z.object({ thingId: hex32, apiKey: hex32 });
const versionSchema = z.object({ id: hex32, name: z.string().max(500).optional(), description: z.string().max(5000).optional() });

/**
 * The GadgetKeeper Provision API. Activation issues a new key and revokes the
 * previous one, so it is never repeated after an unanswered attempt: the
 * caller gets an error marked outcomeUnknown and decides.
 */
/** GadgetKeeper's identity, for errors and records. */
export const GADGETKEEPER: CloudBackend = { id: 'gadgetkeeper', label: 'GadgetKeeper' };

/** Activation issues a new key and revokes the old one: safe to replay for a unit that holds none, never to retry blindly. */
export const GADGETKEEPER_STEPS: Readonly<Partial<Record<CloudStep, CallSafety>>> = Object.freeze({
  activate: { retrySafe: false, replaySafe: true },
  rename: REPEATABLE,
  'target-version': REPEATABLE,
  download: REPEATABLE,
  confirm: REPEATABLE,
});

export class GadgetKeeperAdapter implements CloudAdapter {
  readonly backend = GADGETKEEPER;
  readonly steps = GADGETKEEPER_STEPS;
  readonly account: string;
  private readonly http: AxiosInstance;
  private readonly settings: GadgetKeeperSettings;
  private readonly limits: CloudLimits;
  private readonly paths: GadgetKeeperPaths;

  constructor(settings: GadgetKeeperSettings) {
    this.settings = settings;
    this.limits = cloudLimits(settings);
    this.http = createHttpClient(settings, GADGETKEEPER);
    this.account = cloudAccount(GADGETKEEPER, settings.baseUrl);
    this.paths = { ...DEFAULT_GADGETKEEPER_PATHS, ...settings.paths };
  }

  async activate(serial: string, options: ActivateOptions = {}): Promise<ThingCredentials> {
    const context = { backend: this.backend, step: 'activate' as const, serial };
    // Unanswered, the request may still have reached the cloud and issued a key we never saw.
    const response = await sendWithin(context, { timeoutMs: this.limits.timeoutMs, signal: options.signal, mayHaveTakenEffect: true }, (signal) =>
      this.http.put<string>(fill(this.paths.activate, { serialNumber: serial }), undefined, {
        headers: this.settings.productKey ? { 'X-ApiKey': this.settings.productKey } : {},
        signal,
      }),
    );
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
    await this.call('rename', credentials, options, (headers, signal) =>
      this.http.put(fill(this.paths.rename, { thingId: credentials.thingId }), JSON.stringify({ name }), { headers: json(headers), signal }),
    );
  }

  async targetVersion(credentials: ThingCredentials, options: CallOptions = {}): Promise<VersionInfo> {
    const context = { backend: this.backend, step: 'target-version' as const };
    const response = await this.call('target-version', credentials, options, (headers, signal) =>
      this.http.get(fill(this.paths.targetVersion, { thingId: credentials.thingId }), { headers, signal }),
    );
    return this.parse(versionSchema, response, context, 'a target version without an id');
  }

  async confirmVersion(credentials: ThingCredentials, versionId: string, options: CallOptions = {}): Promise<void> {
    await this.call('confirm', credentials, options, (headers, signal) =>
      this.http.put(fill(this.paths.switchVersion, { thingId: credentials.thingId }), JSON.stringify({ id: versionId }), { headers: json(headers), signal }),
    );
  }

  /**
   * Streams the image to disk within the download limits; an image over
   * maxFirmwareBytes is refused from its Content-Length before any byte is
   * read, and a body cut short is refused and the download starts over cleanly.
   */
  async downloadFirmware(credentials: ThingCredentials, version: VersionInfo, options: DownloadOptions): Promise<DownloadedFirmware> {
    const context = { backend: this.backend, step: 'download' as const };
    const max = options.maxBytes ?? this.limits.maxFirmwareBytes;
    // base64 in JSON: 4 characters per 3 bytes, and room for the JSON around it.
    const maxJson = Math.ceil(max / 3) * 4 + 1024;
    return withRetry(
      async () => {
        const attempt = await DownloadAttempt.start(context, this.limits, options.signal, (signal) =>
          this.http.get<Readable>(fill(this.paths.firmware, { thingId: credentials.thingId, versionId: version.id }), {
            headers: { 'X-ApiKey': credentials.apiKey, Accept: 'application/json, application/octet-stream' },
            responseType: 'stream',
            // The station counts the bytes itself, against the firmware limit.
            maxContentLength: -1,
            signal,
          }),
        );
        try {
          const response = attempt.response;
          if (response.status !== 200) throw statusError(response, context, `the firmware of version ${version.id} could not be downloaded`);
          const declared = Number(response.headers['content-length'] ?? NaN);
          const raw = String(response.headers['content-type'] ?? '').includes('application/octet-stream');
          const limit = raw ? max : maxJson;
          if (Number.isFinite(declared) && declared > limit) throw firmwareTooLarge(context, version.id, max, raw ? declared : Math.floor((declared * 3) / 4));
          const writer = await FirmwareFileWriter.open(options.destination);
          try {
            const meter = new ProgressMeter(Number.isFinite(declared) ? declared : (version.size ?? 0), options.onProgress);
            const json: Buffer[] = [];
            let received = 0;
            for await (const chunk of attempt.chunks(Number.isFinite(declared) ? declared : limit)) {
              received += chunk.length;
              if (received > limit) throw firmwareTooLarge(context, version.id, max);
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
            throw attempt.failure(error);
          }
        } finally {
          attempt.end();
        }
      },
      { retrySafe: true, policy: retryPolicyFor('download', this.settings.retry), signal: options.signal },
    );
  }

  async probe(options: CallOptions = {}): Promise<void> {
    await probeByGet(this.http, this.backend, '/', this.limits.timeoutMs, options.signal);
  }

  async close(): Promise<void> {}

  /** A thing-scoped call: X-ApiKey, retries where the step is safe, and the statuses every such call shares. */
  private async call(
    step: CloudStep,
    credentials: ThingCredentials,
    options: CallOptions,
    send: (headers: Record<string, string>, signal: AbortSignal) => Promise<AxiosResponse<string>>,
  ): Promise<AxiosResponse<string>> {
    const context = { backend: this.backend, step };
    const policy = { retrySafe: this.steps[step]?.retrySafe ?? false, timeoutMs: this.limits.timeoutMs, policy: retryPolicyFor(step, this.settings.retry), signal: options.signal };
    return requestWithRetry(context, policy, (signal) => send({ 'X-ApiKey': credentials.apiKey }, signal), (response) => {
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
      if (response.status >= 200 && response.status < 300) return response;
      throw statusError(response, context, `${describeStep(step)} for thing ${credentials.thingId} failed`);
    });
  }

  private parse<S extends z.ZodType>(schema: S, response: AxiosResponse<string>, context: ErrorContext, what: string): z.output<S> {
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

const STEP_WORDS: Partial<Record<CloudStep, string>> = { rename: 'renaming', 'target-version': 'reading the target version', confirm: 'confirming the installed version' };

function describeStep(step: CloudStep): string {
  return STEP_WORDS[step] ?? step;
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

function decodeFirmwareJson(body: Buffer, context: ErrorContext): Buffer {
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
