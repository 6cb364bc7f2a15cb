import { createHash, randomBytes } from 'node:crypto';
import { PortDisconnectedError, ProtocolError, TimeoutError, CancelledError } from '../errors.ts';
import type { BytePort } from '../ports/byte-port.ts';
import { PortReader } from '../ports/port-reader.ts';
import { receiveFile } from '../transfer/transfer.ts';
import type { BlockProtocol } from '../transfer/transfer-types.ts';

export interface SimulatorFaults {
  /** Answer CREDS SET with ERR STORAGE: always, or the first N times (a flaky flash chip that a retry gets past). */
  refuseCredentials?: boolean | number;
  /** Flip a byte of every received image, so its hash does not match. */
  corruptImage?: boolean;
  /** Unplug after this many image bytes have arrived. */
  hangUpAfterBytes?: number;
  /** Answer every command with binary noise, or with a line far over the length limit. */
  garbage?: 'binary' | 'long-line';
  /** The new image is received and verified, but does not start: the unit boots its old one again (A/B rollback). */
  newImageFailsToBoot?: boolean;
}

export interface SimulatorOptions {
  serial: string;
  /** Installed firmware version id; undefined for none. */
  version?: string;
  /** Credentials already in non-volatile memory (a unit plugged in again keeps them). */
  credentials?: StoredCredentials;
  /** Largest image the unit accepts (the reference simulator's default: 8 MiB). */
  flashSize?: number;
  /** The command set it speaks. */
  dialect?: 'reference' | 'at';
  /** Unsolicited log lines this often (ms): the host must ignore them. */
  noiseIntervalMs?: number;
  /** Extra delay before each answer (ms): a slow unit. */
  answerDelayMs?: number;
  /** How long a reboot takes before the banner (ms). */
  bootDelayMs?: number;
  transfer?: BlockProtocol;
  faults?: SimulatorFaults;
  /** How the unit "unplugs" itself; closes its port by default (a pty runner kills the line instead). */
  hangUp?: () => void;
}

export interface StoredCredentials {
  thingId: string;
  apiKey: string;
}

const MAX_LINE = 256;
const TOKEN = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * A unit that speaks the reference device protocol (or an AT dialect) on any
 * BytePort: in-process, on a pty, or on TCP. It keeps an A/B image the way the
 * spec says, so tests can check what a real unit would end up holding.
 */
export class DeviceSimulator {
  readonly serial: string;
  private installedVersion: string | undefined;
  private installedImage: string | undefined;
  private credentials: StoredCredentials | undefined;
  private readonly port: BytePort;
  private readonly reader: PortReader;
  private readonly options: SimulatorOptions;
  private readonly newline: string;
  private noiseTimer: NodeJS.Timeout | undefined;
  private busy = false;
  private booting = false;
  private stopped = false;
  /** Resolves when the command loop has ended (port gone or stop()). */
  readonly done: Promise<void>;
  /** Count of images received and installed, for tests. */
  flashCount = 0;

  constructor(port: BytePort, options: SimulatorOptions) {
    this.port = port;
    this.reader = new PortReader(port);
    this.options = options;
    this.serial = options.serial;
    this.installedVersion = options.version;
    this.credentials = options.credentials;
    this.newline = options.dialect === 'at' ? '\r\n' : '\n';
    if (options.noiseIntervalMs) {
      this.noiseTimer = setInterval(() => this.noise(), options.noiseIntervalMs);
      this.noiseTimer.unref();
    }
    this.done = this.loop();
  }

  get version(): string | undefined {
    return this.installedVersion;
  }

  /** SHA-256 of the image this unit received and made active (undefined until one is flashed), for tests. */
  get installedSha256(): string | undefined {
    return this.installedImage;
  }

  get storedCredentials(): StoredCredentials | undefined {
    return this.credentials;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.noiseTimer);
    this.reader.dispose();
    await this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.port.isOpen) {
      let line: string;
      try {
        line = await this.reader.readLine({ timeoutMs: 60_000, maxLength: MAX_LINE });
      } catch (error) {
        if (error instanceof TimeoutError) continue;
        if (error instanceof ProtocolError) {
          await this.say(this.error('BADARG', 'line too long or not text'));
          continue;
        }
        break; // disconnected or stopped
      }
      if (this.booting || line.trim() === '') continue;
      try {
        await this.handle(line.trim());
      } catch (error) {
        if (error instanceof PortDisconnectedError || error instanceof CancelledError) break;
        await this.say(this.error('BUSY', (error as Error).message)).catch(() => undefined);
      }
    }
    clearInterval(this.noiseTimer);
  }

  private async handle(line: string): Promise<void> {
    if (this.options.answerDelayMs) await sleep(this.options.answerDelayMs);
    const garbage = this.options.faults?.garbage;
    if (garbage) {
      const bytes = garbage === 'binary' ? Buffer.concat([randomBytes(24).map((b) => (b === 0x0a ? 0 : b | 0x80)), Buffer.from('\n')]) : Buffer.from(`${'X'.repeat(MAX_LINE * 4)}\n`);
      await this.port.write(bytes);
      return;
    }
    if (this.options.dialect === 'at') return this.handleAt(line);
    return this.handleReference(line);
  }

  private async handleReference(line: string): Promise<void> {
    const [command, ...args] = line.split(' ');
    switch (command) {
      case 'PING':
        return this.say('PONG');
      case 'SERIAL?':
        return this.say(`SERIAL ${this.serial}`);
      case 'VERSION?':
        return this.say(`VERSION ${this.installedVersion ?? 'none'}`);
      case 'CREDS':
        if (args[0] === 'SET' && args.length === 3 && TOKEN.test(args[1]!) && TOKEN.test(args[2]!)) {
          if (this.refusesCredentials()) return this.say('ERR STORAGE non-volatile memory write failed');
          this.credentials = { thingId: args[1]!, apiKey: args[2]! };
          return this.say('OK');
        }
        return this.say('ERR BADARG usage: CREDS SET <thingId> <apiKey>');
      case 'CREDS?':
        return this.say(this.credentials ? `CREDS ${this.credentials.thingId} ${keyHash(this.credentials.apiKey)}` : 'CREDS none');
      case 'FLASH':
        return this.flash(args);
      case 'REBOOT':
        await this.say('OK');
        return this.reboot(() => `BOOT ${this.serial} ${this.installedVersion ?? 'none'}`);
      default:
        return this.say(`ERR UNKNOWN ${command ?? ''}`.trim());
    }
  }

  private async handleAt(line: string): Promise<void> {
    const upper = line.toUpperCase();
    if (upper === 'AT') return this.say('OK');
    if (upper === 'AT+SN?') return this.say(`+SN:${this.serial}`, 'OK');
    if (upper === 'AT+VER?') return this.say(`+VER:${this.installedVersion ?? 'NONE'}`, 'OK');
    if (upper.startsWith('AT+CREDS=')) {
      const [thingId, apiKey] = line.slice('AT+CREDS='.length).split(',');
      if (!thingId || !apiKey || !TOKEN.test(thingId) || !TOKEN.test(apiKey)) return this.say('+CME ERROR: 50');
      if (this.refusesCredentials()) return this.say('+CME ERROR: 13');
      this.credentials = { thingId, apiKey };
      return this.say('OK');
    }
    if (upper === 'AT+CREDS?') {
      if (!this.credentials) return this.say('+CME ERROR: 30');
      return this.say(`+CREDS:${this.credentials.thingId},${keyHash(this.credentials.apiKey)}`, 'OK');
    }
    return this.say('ERROR');
  }

  private async flash(args: string[]): Promise<void> {
    const [sizeText, sha256, versionId] = args;
    const size = Number(sizeText);
    const flashSize = this.options.flashSize ?? 8 * 1024 * 1024;
    if (args.length !== 3 || !Number.isSafeInteger(size) || size <= 0 || size > flashSize) {
      return this.say(`ERR BADARG size must be 1 to ${flashSize} bytes`);
    }
    if (!/^[0-9a-f]{64}$/.test(sha256!) || !TOKEN.test(versionId!)) return this.say('ERR BADARG usage: FLASH <size> <sha256> <versionId>');
    await this.say('READY');
    this.busy = true;
    const hangUpAfter = this.options.faults?.hangUpAfterBytes;
    try {
      const { data } = await receiveFile(
        { port: this.port, reader: this.reader },
        {
          protocol: this.options.transfer ?? 'ymodem',
          maxBytes: size,
          expectedSize: size,
          onBytes: (received) => {
            if (hangUpAfter !== undefined && received >= hangUpAfter) this.unplug();
          },
        },
      );
      if (this.options.faults?.corruptImage && data.length > 0) data[data.length >> 1] = data[data.length >> 1]! ^ 0xff;
      const actual = createHash('sha256').update(data).digest('hex');
      if (actual !== sha256) return await this.say(`ERR CHECKSUM ${actual}`);
      // A/B: the new image becomes active only once it is whole and verified.
      if (!this.options.faults?.newImageFailsToBoot) {
        this.installedVersion = versionId;
        this.installedImage = actual;
      }
      this.flashCount++;
      return await this.say(`FLASHED ${actual}`);
    } catch (error) {
      if (error instanceof PortDisconnectedError || error instanceof CancelledError) throw error;
      // Aborted or timed out: keep the old image and go back to text commands.
    } finally {
      this.busy = false;
    }
  }

  private async reboot(banner: () => string): Promise<void> {
    this.booting = true;
    await sleep(this.options.bootDelayMs ?? 200);
    this.reader.discardInput();
    this.booting = false;
    if (this.port.isOpen) await this.say(banner());
  }

  private unplug(): void {
    if (this.options.hangUp) this.options.hangUp();
    else void this.port.close();
  }

  private noise(): void {
    if (this.busy || this.booting || !this.port.isOpen) return;
    const lines = ['', `# log uptime=${Math.round(performance.now())}ms temp=21.${Math.floor(Math.random() * 10)}`, 'I (1234) wifi: scanning'];
    void this.port.write(Buffer.from(`${lines[Math.floor(Math.random() * lines.length)]}${this.newline}`)).catch(() => undefined);
  }

  private error(code: string, text: string): string {
    return this.options.dialect === 'at' ? 'ERROR' : `ERR ${code} ${text}`;
  }

  private async say(...lines: string[]): Promise<void> {
    await this.port.write(Buffer.from(lines.map((line) => `${line}${this.newline}`).join(''), 'latin1'));
  }

  private credentialRefusals = 0;

  private refusesCredentials(): boolean {
    const refuse = this.options.faults?.refuseCredentials;
    if (typeof refuse !== 'number') return refuse === true;
    return this.credentialRefusals++ < refuse;
  }
}

/** What CREDS? reports: the first 16 hex chars of SHA-256 of the api key. */
export function keyHash(apiKey: string, hexChars = 16): string {
  return createHash('sha256').update(apiKey).digest('hex').slice(0, hexChars);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
