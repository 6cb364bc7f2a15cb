import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { Limiter } from '../../limiter.ts';
import { ProgressMeter } from '../../transfer/progress.ts';
import { mapBounded } from '../bounded-map.ts';
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
import { printableExcerpt } from '../../printable-text.ts';
import { DownloadAttempt, firmwareTooLarge } from '../download-attempt.ts';
import { FirmwareFileWriter } from '../firmware-file.ts';
import { createHttpClient, probeByGet, invalidResponse, requestWithRetry, retryPolicyFor, statusError, withRetry, type ErrorContext, type HttpSettings } from '../http.ts';
import { cloudLimits, type CloudLimits } from '../limits.ts';

export interface ExositeSettings extends HttpSettings {
  vendor: string;
  model: string;
  /** The alias written with the unit's CIK to confirm its installed version. */
  versionAlias?: string;
  /** Which content is the firmware; by default the most recently updated one. */
  firmwareContentId?: string;
}

const FORM = 'application/x-www-form-urlencoded; charset=utf-8';
const CIK = /^[0-9a-f]{40}$/;

/**
 * The most content items a model may list when no firmwareContentId says
 * which one is the firmware: each one's info is read, so a hostile list (a
 * quarter MiB of one-character ids) must not become as many requests.
 */
export const MAX_CONTENT_IDS = 256;

/**
 * How many content infos the line reads at once, all ports together: a few,
 * not one request per listed item on each of 32 ports starting together.
 */
export const CONTENT_INFO_CONCURRENCY = 4;

/** A content id the station can carry as a version id: into records, screens (128 characters), labels and the device's commands. */
const contentIdSchema = z
  .string()
  .min(1)
  .max(128, 'longer than 128 characters')
  .regex(/^[^\x00-\x1f\x7f]+$/, 'holding control characters');

/** Content info, one CSV line: "<content-type>,<size>,<updated-unix-time>,<description>" (the description may hold commas). */
const contentInfoSchema = z.object({
  contentType: z.string().min(1, 'no content type').max(255, 'a content type over 255 characters'),
  size: z.string().regex(/^\d{1,15}$/, 'a size that is not a whole number').transform(Number),
  updated: z.string().regex(/^\d{1,15}$/, 'an updated time that is not a whole number').transform(Number),
  description: z.string().max(5000, 'a description over 5000 characters'),
});

interface ContentInfo {
  version: VersionInfo;
  updated: number;
}

/** A listed item the station cannot take as the firmware, and why (for the error when no item is usable). */
interface SkippedContent {
  why: string;
  /** A short printable excerpt of what the cloud sent. */
  shown: string;
  /** Its updated time, where its info line had a readable one: an item newer than the one chosen must not be passed over quietly. */
  updated?: number;
}

/**
 * Exosite provisioning (m2.exosite.com, API v1.1). Activation works exactly
 * once per serial number: it is only made when the caller confirms the unit
 * can receive the CIK right now, never retried, and never replayed offline.
 * thingId is the serial number and apiKey the CIK.
 */
/** Exosite's identity, for errors and records. */
export const EXOSITE: CloudBackend = { id: 'exosite', label: 'Exosite', reusesVersionIds: true };

/** Activation works once per serial number: never retried, never replayed, skipped offline (the unit activates itself in the field). */
export const EXOSITE_STEPS: Readonly<Partial<Record<CloudStep, CallSafety>>> = Object.freeze({
  activate: { retrySafe: false, replaySafe: false, offlineSkip: 'Exosite activation is one-shot and never replayed without the unit; the unit activates itself in the field' },
  'target-version': REPEATABLE,
  download: REPEATABLE,
  confirm: REPEATABLE,
});

export class ExositeAdapter implements CloudAdapter {
  readonly backend = EXOSITE;
  readonly steps = EXOSITE_STEPS;
  /** A CIK belongs to one vendor/model's device at one address. */
  readonly account: string;
  private readonly http: AxiosInstance;
  private readonly settings: ExositeSettings;
  private readonly limits: CloudLimits;
  private readonly alias: string;
  /** Content info reads of every port: the adapter is the line's one. */
  private readonly infoReads = new Limiter(CONTENT_INFO_CONCURRENCY);

  constructor(settings: ExositeSettings) {
    this.settings = settings;
    this.limits = cloudLimits(settings);
    this.http = createHttpClient(settings, EXOSITE);
    this.account = cloudAccount(EXOSITE, settings.baseUrl, settings.vendor, settings.model);
    this.alias = settings.versionAlias ?? 'fw_version';
  }

  async activate(serial: string, options: ActivateOptions = {}): Promise<ThingCredentials> {
    const context: ErrorContext = { backend: this.backend, step: 'activate', serial };
    // A CIK the unit never receives locks it out of the cloud: no delivery, no activation.
    if (!options.canDeliverCredentials || !(await options.canDeliverCredentials())) {
      throw new CloudError(`not activating ${serial} with Exosite: the unit cannot receive its CIK now`, {
        backend: this.backend,
        cloudStep: 'activate',
        failure: 'refused',
        retryable: true,
        where: { serial, step: 'activate' },
        hint: 'Exosite activates a serial number only once; plug the unit in and run it again.',
      });
    }
    const body = new URLSearchParams({ vendor: this.settings.vendor, model: this.settings.model, sn: serial }).toString();
    const cik = await requestWithRetry(
      context,
      { retrySafe: false, timeoutMs: this.limits.timeoutMs, signal: options.signal },
      (signal) => this.http.post<string>('/provision/activate', body, { headers: { 'Content-Type': FORM }, signal }),
      (response) => {
        if (response.status === 200) return response.data.trim();
        const messages: Record<number, [string, string]> = {
          404: [`serial number ${serial} is not known to Exosite for ${this.settings.vendor}/${this.settings.model}`, 'Check the serial number, or add it in the vendor portal.'],
          403: [`the vendor/model pair ${this.settings.vendor}/${this.settings.model} is not valid`, 'Fix vendor and model in the cloud settings.'],
          409: [
            `serial number ${serial} is not enabled for activation, its window expired, or it is already activated`,
            'If the unit holds its CIK it needs no activation; otherwise ask the vendor to re-enable it.',
          ],
        };
        const known = messages[response.status];
        if (!known) throw statusError(response, context, `activation of ${serial} failed`);
        throw statusError(response, context, known[0], { hint: known[1], retryable: false });
      },
    ).catch((error: unknown) => {
      if (error instanceof CloudError && error.outcomeUnknown) {
        throw new CloudError(`the activation of ${serial} got no answer: Exosite may have issued a CIK the station never saw`, {
          backend: this.backend,
          cloudStep: 'activate',
          failure: error.failure,
          retryable: false,
          outcomeUnknown: true,
          where: { serial, step: 'activate' },
          hint: 'Do not activate again blindly: ask the vendor to re-enable the serial number, then retry.',
        });
      }
      throw error;
    });
    if (!CIK.test(cik)) throw invalidResponse(context, 'the CIK is not 40 hex characters');
    return { thingId: serial, apiKey: cik };
  }

  /** The firmware content: the configured id, or the most recently updated usable item. */
  async targetVersion(credentials: ThingCredentials, options: CallOptions = {}): Promise<VersionInfo> {
    const ids = this.contentIds(await this.get(credentials, 'target-version', {}, options));
    const wanted = this.settings.firmwareContentId;
    if (wanted !== undefined) {
      if (!ids.includes(wanted)) throw this.noContent(`Exosite has no content "${wanted}" for this model`);
      // The configured item is the firmware: if the station cannot carry it, that is an error, not a reason to take another.
      return (await this.contentInfo(credentials, this.usableContentId(wanted), options)).version;
    }
    if (ids.length === 0) throw this.noContent('Exosite lists no content for this model');
    return this.newestUsableContent(credentials, ids, options);
  }

  async confirmVersion(credentials: ThingCredentials, versionId: string, options: CallOptions = {}): Promise<void> {
    const context: ErrorContext = { backend: this.backend, step: 'confirm', serial: credentials.thingId };
    await requestWithRetry(
      context,
      { retrySafe: true, timeoutMs: this.limits.timeoutMs, policy: retryPolicyFor(context.step, this.settings.retry), signal: options.signal },
      (signal) =>
        this.http.post<string>('/onep:v1/stack/alias', new URLSearchParams({ [this.alias]: versionId }).toString(), {
          headers: { 'X-Exosite-CIK': credentials.apiKey, 'Content-Type': FORM },
          signal,
        }),
      (response) => this.expectOk(response, context, 'confirming the installed version'),
    );
  }

  /**
   * Downloads with Range: a connection lost midway resumes where it stopped
   * instead of starting over. An announced size over maxFirmwareBytes is
   * refused before anything is downloaded.
   */
  async downloadFirmware(credentials: ThingCredentials, version: VersionInfo, options: DownloadOptions): Promise<DownloadedFirmware> {
    const context: ErrorContext = { backend: this.backend, step: 'download', serial: credentials.thingId };
    const size = version.size ?? (await this.contentInfo(credentials, version.id, options)).version.size!;
    const max = options.maxBytes ?? this.limits.maxFirmwareBytes;
    if (size > max) throw firmwareTooLarge(context, version.id, max, size);
    const meter = new ProgressMeter(size, options.onProgress);
    await FirmwareFileWriter.discard(options.destination);
    return withRetry(
      async () => {
        const writer = await FirmwareFileWriter.open(options.destination, { resume: true });
        const from = writer.bytesWritten;
        let attempt: DownloadAttempt;
        try {
          attempt = await DownloadAttempt.start(context, this.limits, options.signal, (signal) =>
            this.http.get<Readable>(this.downloadPath(version.id), {
              headers: { 'X-Exosite-CIK': credentials.apiKey, ...(from > 0 ? { Range: `bytes=${from}-` } : {}) },
              responseType: 'stream',
              // The station counts the bytes itself, against the announced size.
              maxContentLength: -1,
              signal,
            }),
          );
        } catch (error) {
          await writer.pause();
          throw error;
        }
        try {
          const response = attempt.response;
          const resumed = response.status === 206 && new RegExp(`^bytes ${from}-\\d+/${size}$`).test(String(response.headers['content-range']));
          if (response.status !== 200 && !resumed) {
            await writer.pause();
            await FirmwareFileWriter.discard(options.destination);
            if (response.status === 206 || response.status === 416) throw invalidResponse(context, `a partial answer that does not continue at byte ${from}`);
            throw this.statusFailure(response, context, `the firmware ${version.id} could not be downloaded`);
          }
          // A server that ignores Range sends everything again: start the file over.
          const target = response.status === 200 && from > 0 ? await restart(writer, options.destination) : writer;
          try {
            for await (const chunk of attempt.chunks(size - target.bytesWritten)) {
              if (target.bytesWritten + chunk.length > size) throw invalidResponse(context, `more than the announced ${size} bytes`);
              await target.write(chunk);
              meter.update(target.bytesWritten);
            }
          } catch (error) {
            await target.pause();
            const failure = attempt.failure(error);
            // Keep the .part after a lost or timed-out connection: the next attempt asks only for the rest.
            const resumable = failure instanceof CloudError && (failure.failure === 'network' || failure.failure === 'timeout');
            if (!resumable) await FirmwareFileWriter.discard(options.destination);
            throw failure;
          }
          if (target.bytesWritten !== size) {
            await target.pause();
            throw invalidResponse(context, `the firmware arrived truncated (${target.bytesWritten} of ${size} bytes)`);
          }
          return await target.finish();
        } finally {
          attempt.end();
        }
      },
      { retrySafe: true, policy: retryPolicyFor('download', this.settings.retry), signal: options.signal },
    );
  }

  async probe(options: CallOptions = {}): Promise<void> {
    await probeByGet(this.http, this.backend, '/timestamp', this.limits.timeoutMs, options.signal);
  }

  async close(): Promise<void> {}

  /** The configured item's info: one the station cannot use is an error. */
  private async contentInfo(credentials: ThingCredentials, id: string, options: CallOptions): Promise<ContentInfo> {
    const line = await this.contentInfoLine(credentials, id, options);
    const info = parseContentInfo(id, line);
    if ('why' in info) throw invalidResponse({ backend: this.backend, step: 'target-version' }, `content info of ${printableExcerpt(id, 41)} has ${info.why}: "${info.shown}"`);
    return info;
  }

  /**
   * The most recently updated of the listed items the station can use. Other
   * uploads of the model (a manual, a file with an odd name) are not the
   * firmware: an id or info line the station cannot carry only skips that
   * item, and only a list without one usable item fails. A read that fails
   * fails the step: the unread item may be the newest; so does an item whose
   * info line cannot be used but says it is newer than the one chosen. The infos are read a
   * few at a time (CONTENT_INFO_CONCURRENCY).
   */
  private async newestUsableContent(credentials: ThingCredentials, ids: string[], options: CallOptions): Promise<VersionInfo> {
    const skipped: SkippedContent[] = [];
    const usableIds = ids.filter((id) => {
      const checked = contentIdSchema.safeParse(id);
      if (!checked.success) skipped.push({ why: `content id ${checked.error.issues[0]?.message}`, shown: `"${printableExcerpt(id, 41)}"` });
      return checked.success;
    });
    const infos = await mapBounded(usableIds, CONTENT_INFO_CONCURRENCY, async (id, stopped) =>
      parseContentInfo(id, await this.contentInfoLine(credentials, id, { ...options, signal: options.signal ? AbortSignal.any([options.signal, stopped]) : stopped })),
    );
    const usable: ContentInfo[] = [];
    infos.forEach((info, index) => {
      if (!('why' in info)) usable.push(info);
      else skipped.push({ ...info, why: `content info with ${info.why}`, shown: `${printableExcerpt(usableIds[index]!, 41)}: "${info.shown}"` });
    });
    if (usable.length === 0) throw this.noUsableContent(ids.length, skipped);
    const newest = usable.reduce((best, info) => (info.updated > best.updated ? info : best));
    // A newer upload the station cannot read may be the new firmware (with a long release note, say): never flash the older one instead.
    const newer = skipped.find((item) => item.updated !== undefined && item.updated > newest.updated);
    if (newer) {
      throw new CloudError(`Exosite's newest content cannot be used (${newer.why}: ${newer.shown}), and the station will not take the older ${newest.version.id} instead`, {
        backend: this.backend,
        cloudStep: 'target-version',
        failure: 'invalid-response',
        retryable: false,
        hint: 'Fix that upload in the Exosite portal, or set firmwareContentId in the cloud settings to the content that is the firmware.',
      });
    }
    return newest.version;
  }

  private contentInfoLine(credentials: ThingCredentials, id: string, options: CallOptions): Promise<string> {
    return this.infoReads.run(() => this.get(credentials, 'target-version', { id, info: 'true' }, options), options.signal).then((line) => line.trim());
  }

  private noContent(message: string): CloudError {
    return new CloudError(message, {
      backend: this.backend,
      cloudStep: 'target-version',
      failure: 'not-found',
      retryable: false,
      hint: 'Upload the firmware as content for this vendor/model, or fix firmwareContentId.',
    });
  }

  /** Every listed item was skipped: how many, for which reasons, the first of each quoted. */
  private noUsableContent(listed: number, skipped: SkippedContent[]): CloudError {
    const reasons = new Map<string, { count: number; first: string }>();
    for (const { why, shown } of skipped) {
      const reason = reasons.get(why);
      if (reason) reason.count++;
      else reasons.set(why, { count: 1, first: shown });
    }
    const listedItems = listed === 1 ? '1 content item' : `${listed} content items`;
    const why = [...reasons].map(([reason, { count, first }]) => `${reason}: ${count}, first ${first}`).join('; ');
    return new CloudError(`none of the ${listedItems} Exosite lists for this model can be the firmware, all ${skipped.length} skipped (${why})`, {
      backend: this.backend,
      cloudStep: 'target-version',
      failure: 'invalid-response',
      retryable: false,
      hint: 'Upload the firmware under an id of at most 128 printable characters, or set firmwareContentId in the cloud settings.',
    });
  }

  /** The content list, one id per line: only so many when the newest is to be found among them. */
  private contentIds(text: string): string[] {
    const ids = text.split('\n').map((id) => id.trim()).filter(Boolean);
    if (this.settings.firmwareContentId === undefined && ids.length > MAX_CONTENT_IDS) {
      throw new CloudError(`Exosite lists ${ids.length} content ids for this model, more than the ${MAX_CONTENT_IDS} the station reads the info of to find the newest`, {
        backend: this.backend,
        cloudStep: 'target-version',
        failure: 'invalid-response',
        retryable: false,
        hint: 'Set firmwareContentId in the cloud settings to the content that is the firmware.',
      });
    }
    return ids;
  }

  /** A content id the station may take as the target version: one it can carry (contentIdSchema). */
  private usableContentId(id: string): string {
    const checked = contentIdSchema.safeParse(id);
    if (checked.success) return checked.data;
    throw invalidResponse({ backend: this.backend, step: 'target-version' }, `a content id ${checked.error.issues[0]?.message}: "${printableExcerpt(id, 41)}"`);
  }

  private get(credentials: ThingCredentials, step: CloudStep, params: Record<string, string>, options: CallOptions): Promise<string> {
    const context: ErrorContext = { backend: this.backend, step, serial: credentials.thingId };
    const query = new URLSearchParams({ vendor: this.settings.vendor, model: this.settings.model, ...params });
    return requestWithRetry(
      context,
      { retrySafe: true, timeoutMs: this.limits.timeoutMs, policy: retryPolicyFor(context.step, this.settings.retry), signal: options.signal },
      (signal) => this.http.get<string>(`/provision/download?${query}`, { headers: { 'X-Exosite-CIK': credentials.apiKey }, signal }),
      (response) => this.expectOk(response, context, params.id ? `reading content ${params.id}` : 'listing the content'),
    );
  }

  private downloadPath(id: string): string {
    return `/provision/download?${new URLSearchParams({ vendor: this.settings.vendor, model: this.settings.model, id })}`;
  }

  private expectOk(response: AxiosResponse<string>, context: ErrorContext, what: string): string {
    if (response.status >= 200 && response.status < 300) return response.data ?? '';
    throw this.statusFailure(response, context, `${what} failed`);
  }

  private statusFailure(response: AxiosResponse, context: ErrorContext, what: string): CloudError {
    const hints: Record<number, string> = {
      400: `Fix vendor and model (${this.settings.vendor}/${this.settings.model}) in the cloud settings.`,
      403: `Fix vendor and model (${this.settings.vendor}/${this.settings.model}) in the cloud settings.`,
      401: 'Exosite refused the unit\'s CIK; it may have been re-enabled and must activate again.',
    };
    const hint = hints[response.status];
    return statusError(response, context, what, hint ? { hint, retryable: false } : {});
  }
}

/** An info line as the station uses it, or why it cannot. The updated time tells a re-upload under the same id apart (how a vendor publishes a fix). */
function parseContentInfo(id: string, line: string): ContentInfo | SkippedContent {
  const [contentType, size = '', updated = '', ...description] = line.split(',');
  const info = contentInfoSchema.safeParse({ contentType, size, updated, description: description.join(',') });
  if (!info.success) {
    return { why: info.error.issues[0]?.message ?? 'an unreadable line', shown: printableExcerpt(line, 80), ...(/^\d{1,15}$/.test(updated) ? { updated: Number(updated) } : {}) };
  }
  const version: VersionInfo = { id, size: info.data.size, name: info.data.description, description: info.data.description, revision: String(info.data.updated) };
  return { version, updated: info.data.updated };
}

async function restart(writer: FirmwareFileWriter, destination: string): Promise<FirmwareFileWriter> {
  await writer.pause();
  await FirmwareFileWriter.discard(destination);
  return FirmwareFileWriter.open(destination);
}
