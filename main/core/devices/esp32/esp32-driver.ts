import { createHash } from 'node:crypto';
import { ESPError, TimeoutError as EspTimeoutError, UnexpectedChipIdError, UnexpectedChipMagicError, type FlashSizeValues } from 'esptool-js';
import { ProtocolError, StationError, TimeoutError } from '../../errors.ts';
import type { BytePort, PortCloseReason } from '../../ports/byte-port.ts';
import { LineControlUnsupportedError } from '../../ports/line-control.ts';
import { ProgressMeter } from '../../transfer/progress.ts';
import { compileProfilePattern } from '../profile/safe-pattern.ts';
import type { BootReport, Credentials, DeviceDriver, DriverCapabilities, FirmwareImage, FlashOptions, StepOptions } from '../driver.ts';
import { FLASH_SECTOR, flashPartsOf, type FlashPart } from '../firmware-image.ts';
import { BoundedEspLoader, RomUnansweredError } from './bounded-loader.ts';
import { BytePortTransport } from './byte-port-transport.ts';
import { CHIP_FACTS, chipByName } from './chips.ts';
import { esp32Capabilities, type Esp32Profile } from './esp32-profile.ts';
import { buildNvsPartition } from './nvs-partition.ts';
import { readAppDescriptor } from './app-image.ts';
import { findBootApp, findNvsPartition, parsePartitionTable, PARTITION_TABLE_MAX_SIZE, PARTITION_TABLE_OFFSET, type Partition } from './partition-table.ts';
import { RESET_SEQUENCES, resetSequence, runResetSequence, type ResetStep } from './reset-sequences.ts';
import { attachFlash, changeRomBaudRate, flashMd5, runUserCode, setFlashSize, writeFlashCompressed } from './rom-commands.ts';
import { describeRomError } from './rom-protocol.ts';
import { quotedDeviceText } from '../key-redaction.ts';
import { hasUnprintable, printableExcerpt } from '../../printable-text.ts';

/** The ROM bootloader is written in 1 KiB blocks, as esptool does without its stub. */
const ROM_FLASH_WRITE_SIZE = 0x400;
const APP_CONSOLE_BAUD = 115200;
/** esptool's largest --flash_size: the bound on what a part may claim when the flash chip does not say its size. */
const LARGEST_FLASH = 128 * 1024 * 1024;
/** The longest a flash step goes without a progress report. */
const PROGRESS_HEARTBEAT_MS = 500;
/** A serial number from the boot log: one printable token, as screens, labels and the journal take it. */
const SERIAL_TOKEN = /^[\x21-\x7e]{1,64}$/;

export interface Esp32DriverOptions {
  /** esptool-js's progress lines ("Compressed 174432 bytes to 81796…"); never carry credentials. */
  log?: (line: string) => void;
}

type ChipState = 'unknown' | 'bootloader' | 'application';

/**
 * An ESP32-family unit through its ROM bootloader, on Espressif's esptool-js
 * over a BytePort. It resets the chip into the bootloader with the profile's
 * sequence (or finds it there), refuses a chip that is not the profile's,
 * reads the MAC from eFuse, writes flash compressed (at a raised baud rate
 * where the port allows) and checks every part against the chip's own MD5,
 * writes credentials as an NVS partition and checks them the same way (the
 * secret never comes back over the line), and hard-resets into the
 * application to read the version it reports at boot.
 *
 * It talks to the ROM, not to esptool's flasher stub: the same protocol the
 * simulated chip is validated for against esptool --no-stub, and one that
 * still works in secure download mode.
 */
export class Esp32Driver implements DeviceDriver {
  readonly port: string;
  readonly capabilities: DriverCapabilities;
  private readonly profile: Esp32Profile;
  private readonly bytePort: BytePort;
  private readonly transport: BytePortTransport;
  private readonly loader: BoundedEspLoader;
  private state: ChipState = 'unknown';
  private serial: string | undefined;
  private hostBaud: number;
  /** The rate the ROM speaks while in the bootloader: the ROM rate, or the raised one. */
  private bootloaderBaud: number;
  /** The api key written in this session: redacted from any application output quoted in an error. */
  private writtenKey: string | undefined;
  /** Where credentials go, learned from the partition table of the image flashed in this session. */
  private imageNvs: { offset: number; size: number } | undefined;
  /** The unit's flash size in bytes, from its flash chip's id; undefined when the id names no size. */
  private flashSize: number | undefined;

  constructor(port: BytePort, profile: Esp32Profile, options: Esp32DriverOptions = {}) {
    this.bytePort = port;
    this.port = port.path;
    this.profile = profile;
    this.capabilities = esp32Capabilities(profile);
    this.hostBaud = profile.romBaudRate;
    this.bootloaderBaud = profile.romBaudRate;
    const log = options.log ?? (() => undefined);
    this.transport = new BytePortTransport(port, log);
    this.loader = new BoundedEspLoader({
      transport: this.transport,
      baudrate: profile.romBaudRate,
      romBaudrate: profile.romBaudRate,
      terminal: { clean: () => undefined, writeLine: log, write: log },
      debugLogging: false,
      enableTracing: false,
    });
  }

  async identify(options: StepOptions = {}): Promise<{ serial: string }> {
    return this.step('identify', options, async () => {
      const source = this.profile.serialNumber;
      if (source.source === 'boot-output') {
        const found = await this.bootApplication({ serial: compileProfilePattern(source.pattern) }, source.timeoutMs, 'identify');
        this.serial = found.serial!;
      } else {
        await this.ensureBootloader();
        const mac = checkedFactoryMac(await this.loader.chip.readMac(this.loader));
        this.serial = source.prefix + (source.format === 'hex-upper' ? mac.replace(/:/g, '').toUpperCase() : mac.toLowerCase());
      }
      return { serial: this.serial };
    });
  }

  /** Boots the application to read the version it reports (only when the profile asks for it). */
  async readVersion(options: StepOptions = {}): Promise<string | undefined> {
    return this.step('read-version', options, async () => {
      const found = await this.bootApplication({ version: compileProfilePattern(this.profile.boot.versionPattern) }, this.profile.boot.timeoutMs, 'read-version');
      return found.version;
    });
  }

  async flash(image: FirmwareImage, options: FlashOptions = {}): Promise<void> {
    return this.step('flash', options, async () => {
      const parts = flashPartsOf(image, this.profile.singleImageOffset);
      this.imageNvs = this.nvsFromImage(parts);
      await this.ensureBootloader();
      this.checkFits(parts.map((part) => ({ name: part.name, offset: part.offset, size: part.data.length })));
      await this.raiseBaudRate();
      const total = parts.reduce((sum, part) => sum + part.data.length, 0);
      const meter = new ProgressMeter(total, options.onProgress);
      const before = parts.map((_, index) => parts.slice(0, index).reduce((sum, part) => sum + part.data.length, 0));
      // The ROM answers an erase (a whole region), a block that inflates to a lot, or an MD5 only when done: seconds
      // with nothing new to report. The last figure is repeated meanwhile, so the unit is seen to be at work.
      let done = 0;
      let reportedAt = performance.now();
      const report = (bytes: number) => {
        done = bytes;
        reportedAt = performance.now();
        meter.update(bytes);
      };
      const heartbeat = setInterval(() => {
        if (performance.now() - reportedAt >= PROGRESS_HEARTBEAT_MS) report(done);
      }, PROGRESS_HEARTBEAT_MS / 2);
      try {
        report(0);
        await this.writeParts(parts, (index, written, size) => report(before[index]! + Math.round((parts[index]!.data.length * written) / size)));
        for (const part of parts) await this.verifyPart(part, 'flash');
      } finally {
        clearInterval(heartbeat);
      }
      meter.finish();
    });
  }

  async writeCredentials(credentials: Credentials, options: StepOptions = {}): Promise<void> {
    return this.step('write-credentials', options, async () => {
      const nvs = this.nvsPartition();
      this.writtenKey = credentials.apiKey;
      await this.ensureBootloader();
      // Checked from the numbers before the image is built: the size is the partition table's word, not the unit's.
      this.checkFits([{ name: 'nvs', offset: nvs.offset, size: nvs.size }]);
      await this.writeParts([{ name: 'nvs', offset: nvs.offset, data: this.credentialsImage(credentials, nvs.size) }]);
    });
  }

  /** Compares the chip's MD5 of the NVS partition with the image these credentials make: nothing secret is read back. */
  async verifyCredentials(credentials: Credentials, options: StepOptions = {}): Promise<void> {
    return this.step('verify-credentials', options, async () => {
      const nvs = this.nvsPartition();
      this.writtenKey = credentials.apiKey;
      await this.ensureBootloader();
      this.checkFits([{ name: 'nvs', offset: nvs.offset, size: nvs.size }]);
      const expected = createHash('md5').update(this.credentialsImage(credentials, nvs.size)).digest('hex');
      const actual = await flashMd5(this.loader, nvs.offset, nvs.size, this.port);
      if (actual !== expected) {
        throw new StationError('CREDENTIALS_MISMATCH', `the unit's NVS partition at 0x${nvs.offset.toString(16)} does not hold the credentials written`, {
          hint: "Write the credentials again; if it repeats, the unit's flash may be faulty.",
          retryable: true,
        });
      }
    });
  }

  /** A hard reset into the application; resolves with the version (and serial) its boot log reports. */
  async reboot(options: StepOptions = {}): Promise<BootReport> {
    return this.step('reboot', options, async () => {
      const patterns: { version: RegExp; serial?: RegExp } = { version: compileProfilePattern(this.profile.boot.versionPattern) };
      const source = this.profile.serialNumber;
      if (source.source === 'boot-output') patterns.serial = compileProfilePattern(source.pattern);
      else if (this.profile.boot.serialPattern) patterns.serial = compileProfilePattern(this.profile.boot.serialPattern);
      const found = await this.bootApplication(patterns, this.profile.boot.timeoutMs, 'reboot');
      return { serial: found.serial ?? this.serial ?? '', version: found.version };
    });
  }

  /** The application's own version (esp_app_desc_t) in the image: what its boot log will say. */
  bootVersionOf(image: FirmwareImage): string | undefined {
    const parts = flashPartsOf(image, this.profile.singleImageOffset);
    const table = this.partitionTableOf(parts);
    const app = table && findBootApp(table);
    const part = app ? parts.find((candidate) => candidate.offset <= app.offset && app.offset < candidate.offset + candidate.data.length) : parts.find((candidate) => readAppDescriptor(candidate.data));
    if (!part) return undefined;
    return readAppDescriptor(app ? part.data.subarray(app.offset - part.offset) : part.data)?.version;
  }

  get portClosed(): Promise<PortCloseReason> {
    return this.bytePort.closed;
  }

  async close(): Promise<void> {
    this.transport.dispose();
    await this.bytePort.close();
  }

  /** Runs a step with its cancellation wired into the transport, and every failure said in the station's terms. */
  private async step<T>(step: string, options: StepOptions, run: () => Promise<T>): Promise<T> {
    this.transport.signal = options.signal;
    try {
      return await run();
    } catch (error) {
      throw describeFailure(error, { port: this.port, serial: this.serial, step });
    } finally {
      this.transport.signal = undefined;
    }
  }

  /** Resets the chip into its ROM bootloader (unless it is there already), syncs, and checks it is the profile's chip. */
  private async ensureBootloader(): Promise<void> {
    if (this.state === 'bootloader') return;
    this.transport.readTextOnly(false);
    await this.setHostBaud(this.profile.romBaudRate);
    const sequence = this.profile.reset.enterBootloader;
    let canReset = sequence !== 'none' && this.bytePort.control !== undefined;
    let bootText = '';
    for (let attempt = 0; attempt < this.profile.reset.attempts; attempt++) {
      if (canReset) {
        this.transport.flushInput();
        try {
          await runResetSequence(this.bytePort.control!, resetSequence(sequence as Exclude<typeof sequence, 'none'>), this.transport.signal);
        } catch (error) {
          if (!(error instanceof LineControlUnsupportedError)) throw error;
          // Like esptool on a port without modem lines: try the sync anyway, the unit may be waiting already.
          canReset = false;
        }
        bootText = this.transport.pendingText() || bootText;
      }
      try {
        await this.loader.connect('no_reset', 1, true);
        break;
      } catch (error) {
        if (error instanceof UnexpectedChipIdError || error instanceof UnexpectedChipMagicError) throw this.unknownChip(error);
        if (!(error instanceof ESPError) || attempt === this.profile.reset.attempts - 1) throw this.noSync(error, canReset, bootText);
      }
    }
    this.checkChip();
    this.bootloaderBaud = this.profile.romBaudRate;
    this.loader.FLASH_WRITE_SIZE = ROM_FLASH_WRITE_SIZE;
    await attachFlash(this.loader, this.profile.chip);
    const size = await this.loader.detectFlashSize();
    this.flashSize = size ? this.loader.flashSizeBytes(size as FlashSizeValues) : undefined;
    if (this.flashSize) await setFlashSize(this.loader, this.flashSize);
    // Only now: a step that failed on the way (no answer to SPI_ATTACH) leaves the next one to connect and attach again.
    this.state = 'bootloader';
  }

  /** As esptool: a part past the end of the unit's flash is refused before anything is erased (the ROM's own answer names nothing). */
  private checkFits(regions: ReadonlyArray<{ name: string; offset: number; size: number }>): void {
    const flashSize = this.flashSize ?? LARGEST_FLASH;
    const over = regions.find((region) => region.offset + region.size > flashSize);
    if (!over) return;
    const mb = flashSize >= 1024 * 1024 ? `${flashSize / (1024 * 1024)} MB` : `${flashSize / 1024} KB`;
    const flash = this.flashSize ? `this unit's ${mb} flash` : `${mb}, the largest flash esptool writes (this unit's flash chip did not say its size)`;
    throw new StationError('IMAGE_TOO_LARGE', `${over.name} at 0x${over.offset.toString(16)} (${over.size} bytes) ends past the end of ${flash}`, {
      where: { port: this.port },
      hint: 'Check that the firmware is built for this board (its flash size and partition table), or that this unit belongs on this line.',
      retryable: false,
    });
  }

  private noSync(error: unknown, canReset: boolean, bootText: string): StationError {
    // The chip answered the sync but then sent packets that answered nothing: say that, not "no sync".
    if (!(error instanceof ESPError) || (error instanceof RomUnansweredError && error.strayPackets > 0)) return describeFailure(error, { port: this.port });
    const bootMode = /boot:(0x[0-9a-fA-F]+)/.exec(bootText);
    const booted = bootMode && !/waiting for download/.test(bootText);
    const what = booted
      ? `the unit started its application (${bootMode[1]}) instead of the ROM bootloader`
      : `the unit did not answer the ROM bootloader's sync (${this.profile.reset.attempts} ${this.profile.reset.attempts === 1 ? 'attempt' : 'attempts'})`;
    const hint = canReset
      ? 'Check the auto-reset circuit (DTR/RTS to EN/IO0) and the cable, or hold BOOT while plugging the unit in.'
      : 'This port cannot reset the unit (no DTR/RTS): hold BOOT while plugging the unit in, then retry.';
    return new StationError('BOOTLOADER_NO_SYNC', what, { where: { port: this.port }, hint, retryable: true, cause: error });
  }

  /** The ROM answered, but with a chip id or magic value esptool-js does not know. */
  private unknownChip(error: Error): StationError {
    return new StationError('WRONG_CHIP', `this unit's chip is not one the station knows (${error.message.replace(/\. Failed to autodetect chip type\.$/, '')}), but the profile "${this.profile.name}" is for ${CHIP_FACTS[this.profile.chip].name}`, {
      where: { port: this.port },
      hint: 'Check that this unit belongs on this line.',
      retryable: false,
      cause: error,
    });
  }

  private checkChip(): void {
    const expected = CHIP_FACTS[this.profile.chip].name;
    const actual = this.loader.chip.CHIP_NAME;
    if (chipByName(actual) !== this.profile.chip) {
      throw new StationError('WRONG_CHIP', `this unit is an ${actual}, but the profile "${this.profile.name}" is for ${expected}`, {
        where: { port: this.port },
        hint: `Check that this unit belongs on this line, or choose the device profile for ${actual}.`,
        retryable: false,
      });
    }
  }

  /** Tells the ROM to speed up, then follows it; skipped where the port cannot change its rate (TCP). */
  private async raiseBaudRate(): Promise<void> {
    const target = this.profile.flashBaudRate;
    const control = this.bytePort.control;
    if (!target || target === this.hostBaud || !control) return;
    try {
      await control.setBaudRate(this.hostBaud);
    } catch (error) {
      if (error instanceof LineControlUnsupportedError) return;
      throw error;
    }
    await changeRomBaudRate(this.loader, this.profile.chip, target);
    this.bootloaderBaud = target;
    await this.setHostBaud(target);
    await this.transport.drainInput(50, 200);
    try {
      await this.loader.readReg(this.loader.CHIP_DETECT_MAGIC_REG_ADDR, 1000);
    } catch (error) {
      this.state = 'unknown';
      throw new StationError('BAUD_RATE_FAILED', `the unit stopped answering after switching to ${target} baud`, {
        hint: 'Lower flashBaudRate in the device profile, or use an adapter and cable that carry that rate.',
        retryable: true,
        cause: error,
      });
    }
  }

  private async setHostBaud(baudRate: number): Promise<void> {
    if (baudRate === this.hostBaud || !this.bytePort.control) return;
    await this.bytePort.control.setBaudRate(baudRate);
    this.hostBaud = baudRate;
  }

  private async writeParts(parts: FlashPart[], onProgress?: (index: number, written: number, total: number) => void): Promise<void> {
    for (const [index, part] of parts.entries()) {
      await writeFlashCompressed(this.loader, part, onProgress && ((written, total) => onProgress(index, written, total)));
    }
  }

  /** The chip's MD5 of what it holds against the MD5 of what was sent (padded to 4 bytes as written). */
  private async verifyPart(part: FlashPart, step: string): Promise<void> {
    const padded = part.data.length % 4 === 0 ? part.data : Buffer.concat([part.data, Buffer.alloc(4 - (part.data.length % 4), 0xff)]);
    const expected = createHash('md5').update(padded).digest('hex');
    const actual = await flashMd5(this.loader, part.offset, padded.length, this.port);
    if (actual !== expected) {
      throw new StationError('FLASH_VERIFY_FAILED', `the flash at 0x${part.offset.toString(16)} (${part.name}) holds different bytes than were written (chip MD5 ${actual}, expected ${expected})`, {
        where: { port: this.port, step },
        hint: "Retry the flash; if it fails again, the unit's flash is faulty: set it aside.",
        retryable: true,
      });
    }
  }

  /** Boots the application (hard reset, or "run user code" where the port has no reset lines) and reads its log for the patterns. */
  private async bootApplication(patterns: { version?: RegExp; serial?: RegExp }, timeoutMs: number, step: string): Promise<{ version?: string; serial?: string }> {
    const control = this.bytePort.control;
    let reset = false;
    if (control) {
      try {
        await this.setHostBaud(APP_CONSOLE_BAUD);
        this.transport.flushInput();
        this.transport.readTextOnly(true);
        await runResetSequence(control, this.hardResetSteps(), this.transport.signal);
        reset = true;
      } catch (error) {
        this.transport.readTextOnly(false);
        if (!(error instanceof LineControlUnsupportedError)) {
          // A reset cut short (cancelled, unplugged) may have left the chip anywhere: the next step finds the bootloader again.
          this.state = 'unknown';
          throw error;
        }
      }
    }
    if (!reset) {
      await this.ensureBootloader();
      await this.setHostBaud(this.bootloaderBaud);
      // From here the chip leaves the bootloader, whatever fails next.
      this.state = 'unknown';
      await runUserCode(this.loader, this.profile.chip);
      this.transport.readTextOnly(true);
      await this.setHostBaud(APP_CONSOLE_BAUD);
    }
    this.state = 'application';
    const found: { version?: string; serial?: string } = {};
    const wanted = Object.entries(patterns) as Array<['version' | 'serial', RegExp]>;
    const deadline = performance.now() + timeoutMs;
    let lastLine = '';
    while (wanted.some(([name]) => found[name] === undefined)) {
      const left = Math.max(0, deadline - performance.now());
      let line: string;
      try {
        line = await this.transport.readTextLine({ timeoutMs: left, maxLength: this.profile.maxLineLength, awaiting: 'boot log' });
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        const missing = wanted.filter(([name]) => found[name] === undefined).map(([name]) => name).join(' and ');
        throw new StationError('BOOT_FAILED', `the application did not report its ${missing} within ${timeoutMs} ms of the reset${lastLine ? ` (last line: "${this.quoted(lastLine)}")` : ' (it printed nothing)'}`, {
          where: { port: this.port, step },
          hint: 'The new image did not start. Retry the flash; if it repeats, check the image is built for this chip and board.',
          retryable: true,
        });
      }
      if (line.trim()) lastLine = line.trim();
      for (const [name, pattern] of wanted) {
        const value = pattern.exec(line)?.groups?.[name];
        if (value !== undefined && found[name] === undefined) found[name] = value;
      }
    }
    return this.checkedBootValues(found, step);
  }

  /**
   * What the application printed, as the station takes it: a serial number is one printable token, a version holds
   * no control characters (both are shown on screens and terminals, stored and quoted). Anything else is refused.
   */
  private checkedBootValues(found: { version?: string; serial?: string }, step: string): { version?: string; serial?: string } {
    if (found.serial !== undefined && !SERIAL_TOKEN.test(found.serial)) {
      const pattern = this.profile.serialNumber.source === 'boot-output' ? 'serialNumber.pattern' : 'boot.serialPattern';
      throw new ProtocolError(`the application printed a serial number that is not 1 to 64 printable characters ("${this.quoted(found.serial)}")`, {
        where: { port: this.port, step },
        hint: `Check ${pattern} in the device profile: its (?<serial>…) group should take the serial number only.`,
      });
    }
    if (found.version !== undefined && hasUnprintable(found.version)) {
      throw new ProtocolError(`the application printed a version that holds control characters ("${this.quoted(found.version)}")`, {
        where: { port: this.port, step },
        hint: 'Check boot.versionPattern in the device profile: its (?<version>…) group should take the version only.',
      });
    }
    return found;
  }

  /** Application output as an error quotes it: an application that prints its own key must not put it in the station's messages. */
  private quoted(text: string): string {
    return quotedDeviceText(text, this.writtenKey);
  }

  /**
   * esptool's hard reset pulses EN (RTS) and leaves IO0 (DTR) as it was: released, after esptool's own classic
   * reset. A port just opened has both asserted, which the auto-reset circuit reads as neither: the pulse would not
   * reach EN (a unit that booted before the port was opened prints nothing), or, once it did, IO0 held low would
   * bring the chip up in its bootloader. So IO0 is released first. A profile's own sequence is run as written.
   */
  private hardResetSteps(): readonly ResetStep[] {
    const hardReset = this.profile.reset.hardReset;
    return hardReset === 'hard-reset' ? [{ dtr: false }, ...RESET_SEQUENCES['hard-reset']] : resetSequence(hardReset);
  }

  private nvsFromImage(parts: FlashPart[]): { offset: number; size: number } | undefined {
    const table = this.partitionTableOf(parts);
    const nvs = table && findNvsPartition(table, this.profile.credentials.nvsLabel);
    return nvs && { offset: nvs.offset, size: nvs.size };
  }

  /** The partition table an image carries: its own part at 0x8000, or inside a merged binary from 0. */
  private partitionTableOf(parts: FlashPart[]): Partition[] | undefined {
    const table = parts.find((part) => part.offset === PARTITION_TABLE_OFFSET) ?? parts.find((part) => part.offset === 0 && part.data.length > PARTITION_TABLE_OFFSET);
    if (!table) return undefined;
    const bytes = table.offset === 0 ? table.data.subarray(PARTITION_TABLE_OFFSET, PARTITION_TABLE_OFFSET + PARTITION_TABLE_MAX_SIZE) : table.data;
    const parsed = parsePartitionTable(bytes);
    return parsed.ok ? parsed.partitions : undefined;
  }

  /** The profile's NVS place if it names one, else the image's partition table. */
  private nvsPartition(): { offset: number; size: number } {
    const nvs = this.profile.credentials.nvsPartition ?? this.imageNvs;
    if (!nvs) {
      throw new StationError('NVS_UNKNOWN', 'the NVS partition for the credentials is unknown: no image with a partition table was flashed in this session', {
        hint: 'Set credentials.nvsPartition (offset and size) in the device profile, or flash an image that carries its partition table.',
        retryable: false,
      });
    }
    if (nvs.offset % FLASH_SECTOR !== 0) {
      throw new StationError('NVS_UNUSABLE', `the NVS partition at 0x${nvs.offset.toString(16)} does not start on a 4 KiB flash sector: the ROM would erase the bytes before it`, {
        hint: "Fix the image's partition table (ESP-IDF places partitions on 0x1000 boundaries), or set credentials.nvsPartition in the device profile.",
        retryable: false,
      });
    }
    return nvs;
  }

  private credentialsImage(credentials: Credentials, size: number): Uint8Array {
    const { namespace, keys } = this.profile.credentials;
    return buildNvsPartition([{ name: namespace, strings: [{ key: keys.thingId, value: credentials.thingId }, { key: keys.apiKey, value: credentials.apiKey }] }], size);
  }
}

/**
 * The MAC esptool-js assembled from eFuse words, as a serial number takes it: a factory MAC is a unicast address and
 * never all zeros. Anything else (blank eFuse, a misread word) would give units a serial number that is not theirs.
 */
function checkedFactoryMac(mac: string): string {
  const bytes = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac) ? mac.split(':').map((byte) => Number.parseInt(byte, 16)) : undefined;
  if (!bytes || bytes.every((byte) => byte === 0) || (bytes[0]! & 0x01) !== 0) {
    throw new StationError('BAD_FACTORY_MAC', `the unit's eFuse holds ${printableExcerpt(mac)}, not a factory MAC address`, {
      hint: 'This unit has no valid factory MAC: set it aside, or take serial numbers from the boot log (serialNumber.source "boot-output").',
      retryable: false,
    });
  }
  return mac;
}

/**
 * esptool-js's errors in the station's words: the ROM's status code named,
 * timeouts as TimeoutErrors, the port's own errors as they are.
 */
function describeFailure(error: unknown, where: { port: string; serial?: string; step?: string }): StationError {
  if (error instanceof StationError) return error.at(where);
  if (error instanceof RomUnansweredError && error.strayPackets > 0) {
    return new StationError('ROM_NOT_ANSWERING', error.message, {
      where,
      hint: 'The unit is sending, but not answers to the station: check that no other program has this port open and that nothing else shares the unit\'s UART, then retry; if it repeats, reset the unit.',
      retryable: true,
      cause: error,
    });
  }
  if (error instanceof EspTimeoutError) {
    return new TimeoutError(`the ROM bootloader stopped answering (${error.message})`, { where, hint: 'Check the cable and the unit\'s power, then retry.' });
  }
  if (error instanceof ESPError) {
    const status = /failed with status (\d+),(\d+)/.exec(error.message);
    if (status) {
      const code = Number(status[2]);
      const action = error.message.replace(/^Failed to /, '').replace(/ failed with status.*$/, '');
      return new StationError(code === 0x08 ? 'FLASH_WRITE_FAILED' : 'ROM_ERROR', `the chip's ROM could not ${action}: ${describeRomError(code)}`, {
        where,
        hint: code === 0x08 ? "Retry once; if it repeats, the unit's flash is faulty: set it aside." : 'Retry; if it repeats, check the image and the device profile.',
        retryable: true,
        cause: error,
      });
    }
    return new ProtocolError(`the ROM bootloader exchange failed (${error.message})`, { where, cause: error });
  }
  return new StationError('UNEXPECTED', error instanceof Error ? error.message : String(error), { where, cause: error });
}
