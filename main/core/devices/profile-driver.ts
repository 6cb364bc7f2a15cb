import { createHash } from 'node:crypto';
import { DeviceError, ProtocolError, StationError, TimeoutError, TransferError } from '../errors.ts';
import type { BytePort, PortCloseReason } from '../ports/byte-port.ts';
import { PortReader } from '../ports/port-reader.ts';
import { sendFile } from '../transfer/transfer.ts';
import type {
  BootReport,
  Credentials,
  DeviceDriver,
  DriverCapabilities,
  FirmwareImage,
  FlashOptions,
  StepOptions,
} from './driver.ts';
import { quotedDeviceText } from './key-redaction.ts';
import { compileProfilePattern } from './profile/safe-pattern.ts';
import type { TextProfile } from './profile/schema.ts';

/** Values substituted into a command line: printable, no spaces, so they cannot inject a second command. */
const SAFE_VALUE = /^[\x21-\x7e]{1,256}$/;

type Groups = Record<string, string | undefined>;

interface Exchange {
  /** The step, for errors: "identify", "flash"… */
  step: string;
  send?: string;
  values?: Record<string, string | number>;
  expect: string | string[];
  timeoutMs: number;
  /** Named in timeout errors. */
  awaiting?: string;
  signal?: AbortSignal;
}

/**
 * Runs a device profile against a port: sends its commands, waits for the
 * answers it describes, ignores unsolicited lines, and turns the device's own
 * errors into DeviceErrors. Secrets are never echoed into errors.
 */
export class ProfileDriver implements DeviceDriver {
  readonly port: string;
  readonly capabilities: DriverCapabilities;
  private readonly profile: TextProfile;
  private readonly bytePort: BytePort;
  private readonly reader: PortReader;
  private readonly errorPattern: RegExp;
  private readonly serialPattern: RegExp;
  /** The api key last written or checked on this port: a device that echoes it back in an error must not put it in the station's messages. */
  private writtenKey: string | undefined;

  constructor(port: BytePort, profile: TextProfile) {
    this.bytePort = port;
    this.port = port.path;
    this.profile = profile;
    this.reader = new PortReader(port);
    this.errorPattern = compileProfilePattern(profile.errorPattern);
    this.serialPattern = compileProfilePattern(profile.serialNumberPattern);
    this.capabilities = profileCapabilities(profile);
  }

  async identify(options: StepOptions = {}): Promise<{ serial: string }> {
    const spec = this.profile.commands.readSerial;
    const groups = await this.exchange({ step: 'identify', ...spec, timeoutMs: this.timeout(spec), signal: options.signal });
    const serial = groups.serial!;
    if (!this.serialPattern.test(serial)) {
      throw new ProtocolError(`the unit reported serial number "${this.quoted(serial)}", which does not match ${this.profile.serialNumberPattern}`, {
        where: { port: this.port, step: 'identify' },
        hint: 'Check that this unit belongs to this line and that the device profile is the right one.',
        retryable: false,
      });
    }
    return { serial };
  }

  async readVersion(options: StepOptions = {}): Promise<string | undefined> {
    const spec = this.require('readVersion', 'read-version');
    const groups = await this.exchange({ step: 'read-version', ...spec, timeoutMs: this.timeout(spec), signal: options.signal });
    const version = groups.version!;
    return version === (spec.noneValue ?? 'none') ? undefined : version;
  }

  async writeCredentials(credentials: Credentials, options: StepOptions = {}): Promise<void> {
    const spec = this.require('writeCredentials', 'write-credentials');
    this.guardKey(credentials.apiKey);
    await this.exchange({
      step: 'write-credentials',
      ...spec,
      values: { thingId: credentials.thingId, apiKey: credentials.apiKey },
      timeoutMs: this.timeout(spec),
      signal: options.signal,
    });
  }

  async verifyCredentials(credentials: Credentials, options: StepOptions = {}): Promise<void> {
    const spec = this.require('verifyCredentials', 'verify-credentials');
    this.guardKey(credentials.apiKey);
    const groups = await this.exchange({
      step: 'verify-credentials',
      ...spec,
      values: { thingId: credentials.thingId },
      timeoutMs: this.timeout(spec),
      signal: options.signal,
    });
    const where = { port: this.port, step: 'verify-credentials' };
    if (groups.thingId !== credentials.thingId) {
      throw new StationError('CREDENTIALS_MISMATCH', `the unit holds thing id ${groups.thingId === undefined ? '(none)' : this.quoted(groups.thingId)}, not ${credentials.thingId}`, {
        where,
        hint: 'Write the credentials again; if it repeats, the unit\'s memory may be faulty.',
        retryable: true,
      });
    }
    if (spec.keyHash) {
      const expected = createHash('sha256').update(credentials.apiKey).digest('hex').slice(0, spec.keyHash.hexChars);
      if (groups.keyHash?.toLowerCase() !== expected) {
        throw new StationError('CREDENTIALS_MISMATCH', 'the unit holds a different api key than the one written', {
          where,
          hint: 'Write the credentials again; if it repeats, the unit\'s memory may be faulty.',
          retryable: true,
        });
      }
    }
  }

  async flash(image: FirmwareImage, options: FlashOptions = {}): Promise<void> {
    const spec = this.require('flash', 'flash');
    const step = 'flash';
    await this.exchange({
      step,
      send: spec.send,
      expect: spec.expect,
      values: { size: image.data.length, sha256: image.sha256, versionId: image.versionId },
      timeoutMs: this.timeout(spec),
      signal: options.signal,
    });
    try {
      await sendFile(
        { port: this.bytePort, reader: this.reader },
        {
          protocol: spec.transfer,
          fileName: spec.fileName,
          data: image.data,
          onProgress: options.onProgress,
          signal: options.signal,
          startTimeoutMs: spec.startTimeoutMs,
          blockTimeoutMs: spec.blockTimeoutMs,
          maxAttempts: spec.maxAttempts,
        },
      );
    } catch (error) {
      throw error instanceof StationError ? error.at({ port: this.port, step }) : error;
    }
    const result = await this.exchange({
      step,
      expect: spec.result.expect,
      timeoutMs: spec.result.timeoutMs,
      awaiting: 'the flash result',
      signal: options.signal,
    });
    if (result.sha256?.toLowerCase() !== image.sha256) {
      throw new TransferError(`the unit received an image with hash ${result.sha256 === undefined ? '(none)' : this.quoted(result.sha256)}, not ${image.sha256}`, {
        where: { port: this.port, step },
        hint: 'The image was damaged on the way; retry the flash.',
      });
    }
  }

  async reboot(options: StepOptions = {}): Promise<BootReport> {
    const spec = this.require('reboot', 'reboot');
    await this.exchange({ step: 'reboot', send: spec.send, expect: spec.expect, timeoutMs: this.timeout(spec), signal: options.signal });
    const banner = await this.exchange({
      step: 'reboot',
      expect: spec.banner,
      timeoutMs: spec.bannerTimeoutMs,
      awaiting: 'the boot banner',
      signal: options.signal,
    });
    const noneValue = this.profile.commands.readVersion?.noneValue ?? 'none';
    return { serial: banner.serial!, version: banner.version === undefined || banner.version === noneValue ? undefined : banner.version };
  }

  get portClosed(): Promise<PortCloseReason> {
    return this.bytePort.closed;
  }

  async close(): Promise<void> {
    this.reader.dispose();
    await this.bytePort.close();
  }

  /**
   * Before the key goes to the unit or is asked about: its answers are quoted
   * with every piece of the key replaced, and raw bytes (an echo cut off mid-key) are
   * never quoted at all for the rest of this session.
   */
  private guardKey(apiKey: string): void {
    this.writtenKey = apiKey;
    this.reader.withholdReceivedBytes('the unit was given the api key');
  }

  /** Device text as the station may quote it, without the api key written to this unit (the reader passes tabs). */
  private quoted(text: string): string {
    return quotedDeviceText(text, this.writtenKey);
  }

  private timeout(spec: { timeoutMs?: number }): number {
    return spec.timeoutMs ?? this.profile.responseTimeoutMs;
  }

  private require<K extends 'readVersion' | 'writeCredentials' | 'verifyCredentials' | 'flash' | 'reboot'>(
    name: K,
    step: string,
  ): NonNullable<TextProfile['commands'][K]> {
    const spec = this.profile.commands[name];
    if (!spec) {
      throw new StationError('PROFILE_UNSUPPORTED', `device profile "${this.profile.name}" has no ${name} command`, {
        where: { port: this.port, step },
        hint: 'Add the command to the device profile, or turn this step off for the line.',
      });
    }
    return spec as NonNullable<TextProfile['commands'][K]>;
  }

  /** Sends one command (if any) and awaits its answer lines in order; returns the named groups they captured. */
  private async exchange(exchange: Exchange): Promise<Groups> {
    const where = { port: this.port, step: exchange.step };
    const patterns = (Array.isArray(exchange.expect) ? exchange.expect : [exchange.expect]).map((source) => compileProfilePattern(source));
    const command = exchange.send === undefined ? undefined : renderCommand(exchange.send, exchange.values ?? {}, where);
    const awaiting = exchange.awaiting ?? (exchange.send === undefined ? 'the device' : commandName(exchange.send));
    const deadline = performance.now() + exchange.timeoutMs;
    try {
      if (command !== undefined) {
        this.reader.discardInput();
        await this.bytePort.write(Buffer.from(`${command}${this.profile.lineEnding}`, 'latin1'));
      }
      const groups: Groups = {};
      for (const pattern of patterns) {
        for (;;) {
          const left = Math.max(0, deadline - performance.now());
          if (left === 0) throw new TimeoutError(`no answer to ${awaiting} within ${exchange.timeoutMs} ms`, { where });
          const line = await this.reader.readLine({ timeoutMs: left, maxLength: this.profile.maxLineLength, signal: exchange.signal, awaiting });
          const match = pattern.exec(line);
          if (match) {
            Object.assign(groups, match.groups);
            break;
          }
          const deviceError = this.errorPattern.exec(line);
          if (deviceError) {
            const code = deviceError.groups?.code ?? 'ERROR';
            const text = deviceError.groups?.text === code ? '' : (deviceError.groups?.text ?? '');
            throw new DeviceError(this.quoted(code), this.quoted(text), { where });
          }
          // Anything else is an unsolicited line (banner, log output): ignored, as the protocol says.
        }
      }
      return groups;
    } catch (error) {
      throw error instanceof StationError ? error.at(where) : error;
    }
  }
}

/** What a unit described by this profile can do: a step without its command cannot run. */
export function profileCapabilities(profile: TextProfile): DriverCapabilities {
  const { commands } = profile;
  return {
    readVersion: commands.readVersion !== undefined,
    credentials: commands.writeCredentials !== undefined && commands.verifyCredentials !== undefined,
    flash: commands.flash !== undefined,
    reboot: commands.reboot !== undefined,
  };
}

/** Fills {placeholders}; a value with spaces or control characters would split the command, so it is refused. */
function renderCommand(template: string, values: Record<string, string | number>, where: { port: string; step: string }): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new StationError('PROFILE_INVALID', `no value for {${name}}`, { where });
    const text = String(value);
    if (!SAFE_VALUE.test(text)) {
      // The value may be a secret: name the placeholder, never the value.
      throw new StationError('VALUE_REFUSED', `the value for {${name}} contains spaces or control characters`, { where });
    }
    return text;
  });
}

/** "SERIAL?" from "SERIAL?", "CREDS SET" from "CREDS SET {thingId} {apiKey}": a name that carries no values. */
function commandName(template: string): string {
  return template.split(/\s*\{/)[0]!.trim() || template;
}
