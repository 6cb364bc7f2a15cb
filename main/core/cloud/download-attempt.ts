import type { AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import { CancelledError, StationError } from '../errors.ts';
import { CallTimer, chunksWithin } from './call-timer.ts';
import { CloudError } from './cloud-error.ts';
import { transportError, type ErrorContext } from './http.ts';
import { formatBytes, formatDuration } from '../format.ts';
import { downloadDeadlineMs, type CloudLimits } from './limits.ts';

/**
 * One attempt at a streamed firmware download, under three limits: the answer
 * must start within timeoutMs; then the body must never go downloadStallMs
 * without a byte, and must be complete within the deadline its announced size
 * gives at downloadMinBytesPerSecond. Whatever the cloud does, the attempt
 * ends within those bounds.
 */
export class DownloadAttempt {
  readonly response: AxiosResponse<Readable>;
  private readonly timer: CallTimer;
  private readonly context: ErrorContext;
  private readonly limits: CloudLimits;
  private readonly signal: AbortSignal | undefined;
  private readonly started: number;
  private body: { bytes: number; deadlineMs: number } | undefined;

  private constructor(response: AxiosResponse<Readable>, timer: CallTimer, context: ErrorContext, limits: CloudLimits, signal: AbortSignal | undefined, started: number) {
    this.response = response;
    this.timer = timer;
    this.context = context;
    this.limits = limits;
    this.signal = signal;
    this.started = started;
  }

  /** Sends the request; resolves when the answer's status and headers are in. */
  static async start(
    context: ErrorContext,
    limits: CloudLimits,
    signal: AbortSignal | undefined,
    get: (signal: AbortSignal) => Promise<AxiosResponse<Readable>>,
  ): Promise<DownloadAttempt> {
    const started = performance.now();
    const timer = new CallTimer(signal);
    timer.limit('deadline', limits.timeoutMs);
    try {
      return new DownloadAttempt(await get(timer.signal), timer, context, limits, signal, started);
    } catch (error) {
      timer.clear();
      throw transportError(error, context, false, timer);
    }
  }

  /** The body's chunks, `expectedBytes` of them at most; sets the deadline that size allows. */
  chunks(expectedBytes: number): AsyncGenerator<Buffer> {
    const deadlineMs = downloadDeadlineMs(this.limits, expectedBytes);
    this.body = { bytes: expectedBytes, deadlineMs };
    this.timer.limit('deadline', Math.max(0, deadlineMs - (performance.now() - this.started)));
    return chunksWithin(this.response.data, this.timer, this.limits.downloadStallMs);
  }

  /**
   * What a failure while reading the body means. A deadline is a timeout not
   * worth repeating (the link is too slow for this image); a stall is one
   * worth repeating; the station's own errors (an invalid answer, a full
   * disk) pass as they are.
   */
  failure(error: unknown): Error {
    const name = this.context.backend.label;
    const where = { serial: this.context.serial, step: this.context.step };
    const expired = this.timer.expired;
    if (expired?.name === 'stall') {
      return new CloudError(`the firmware download stalled: ${name} sent nothing for ${formatDuration(expired.ms)}`, {
        backend: this.context.backend,
        cloudStep: this.context.step,
        failure: 'timeout',
        where,
        hint: "Check the station's internet connection, then retry the unit.",
      });
    }
    if (expired?.name === 'deadline' && this.body) {
      const { bytes, deadlineMs } = this.body;
      return new CloudError(
        `the firmware download from ${name} did not finish within ${formatDuration(deadlineMs)} (${formatBytes(bytes)} at no less than ${formatBytes(this.limits.downloadMinBytesPerSecond)}/s)`,
        {
          backend: this.context.backend,
          cloudStep: this.context.step,
          failure: 'timeout',
          retryable: false,
          where,
          hint: "The connection is too slow for this image: check the station's internet connection, then retry the unit.",
        },
      );
    }
    if (this.signal?.aborted) return new CancelledError('the cloud call was cancelled', { where });
    if (error instanceof StationError || !isIoError(error)) return error as Error;
    return transportError(error, this.context, false, this.timer);
  }

  /** Ends the attempt: stops its timers and drops whatever is left of the body (an error page may be endless). */
  end(): void {
    this.timer.clear();
    if (!this.response.data.readableEnded) this.response.data.destroy();
  }
}

/** The station's refusal of an image over maxFirmwareBytes, before or while it arrives. */
export function firmwareTooLarge(context: ErrorContext, versionId: string, maxBytes: number, announcedBytes?: number): CloudError {
  const name = context.backend.label;
  const size = announcedBytes === undefined ? `sends more than ${formatBytes(maxBytes)}` : `announces ${formatBytes(announcedBytes)}`;
  return new CloudError(`the firmware ${versionId} that ${name} ${size} is larger than the station accepts (maxFirmwareBytes: ${formatBytes(maxBytes)})`, {
    backend: context.backend,
    cloudStep: context.step,
    failure: 'invalid-response',
    retryable: false,
    where: { serial: context.serial, step: context.step },
    hint: 'Check the firmware uploaded to the cloud; if the image is right, raise maxFirmwareBytes in the line configuration.',
  });
}

/** Errors from sockets and streams carry a string code (ECONNRESET, ERR_STREAM_PREMATURE_CLOSE…); anything else is a bug to surface as is. */
function isIoError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';
}
