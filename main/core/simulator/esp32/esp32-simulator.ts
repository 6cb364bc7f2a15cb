import type { Esp32Chip } from '../../devices/esp32/chips.ts';
import { parseRomRequest, ROM_COMMAND, ROM_ERROR, romResponse, type RomRequest } from '../../devices/esp32/rom-protocol.ts';
import { SlipDecoder, slipEncode } from '../../devices/esp32/slip.ts';
import type { BytePort } from '../../ports/byte-port.ts';
import type { LineControlEvent } from '../../ports/line-control.ts';
import { bootFromFlash } from './application.ts';
import { CHIP_MODELS, type ChipModel } from './chip-models.ts';
import { ChipRegisters } from './chip-registers.ts';
import { INSTANT_FLASH, RomLoader, type FlashTiming, type RomAfter, type RomReply } from './rom-loader.ts';
import { SpiFlash } from './spi-flash.ts';

export interface Esp32SimulatorFaults {
  /** IO0 is not wired to the auto-reset circuit: the chip always boots its application and never answers a SYNC. */
  neverSyncs?: boolean;
  /** Writes to the flash sector holding this address fail ("flash write error"). */
  badSectorAt?: number;
  /** The flash byte at this address never keeps what is written: the chip's MD5 of it differs. */
  weakBitAt?: number;
  /** The cable is pulled once this many bytes have been programmed. */
  unplugAfterBytes?: number;
  /**
   * A confused chip or a noisy line: this ROM command (its op) is never
   * answered; from its arrival on, the chip sends a packet that answers
   * nothing (c0 00 00 00 00 00 00 00 00 c0) every everyMs.
   */
  straysInsteadOf?: { op: number; everyMs: number };
  /** The ROM refuses to read this register (as in secure download mode): READ_REG of it answers with a failed status and value 0. */
  readRegFailsAt?: number;
  /** Line noise (or a byte the application still printed): these bytes reach the host just before the first answer to this ROM command (its op). */
  noiseBeforeAnswer?: { op: number; bytes: Uint8Array };
}

export interface Esp32SimulatorOptions {
  chip: Esp32Chip;
  /** The factory MAC in eFuse, "24:0a:c4:12:34:56". */
  mac: string;
  flashSize?: number;
  /**
   * How the chip comes up at power-on: 'download' as if BOOT were held (what
   * esptool --before no_reset expects on a pty), 'application' otherwise.
   * Where the link carries DTR/RTS (an in-memory pair) resets follow the
   * auto-reset circuit from then on.
   */
  powerOn?: 'download' | 'application';
  /** Flash contents at power-on (an earlier firmware). */
  flashContents?: Array<{ offset: number; data: Uint8Array }>;
  /** Lines the application prints after its start (e.g. a serial number). */
  appLines?: string[];
  flashTiming?: FlashTiming;
  /** From reset to the application's banner. */
  bootDelayMs?: number;
  faults?: Esp32SimulatorFaults;
  /** How the unit "unplugs"; closes its port by default (a pty host kills the line instead). */
  hangUp?: () => void;
  /** The host's DTR/RTS and baud-rate changes, where the link carries them. */
  lineEvents?: (listener: (event: LineControlEvent) => void) => () => void;
}

export type ChipMode = 'download' | 'application' | 'in-reset' | 'running-ram' | 'unplugged';

const ROM_BAUD = 115200;
/** Eight zero bytes: too short to be a request, direction 0 so never a response. */
const STRAY_PACKET = slipEncode(Buffer.alloc(8));
/**
 * EN rises through an RC network (10 kΩ, 1 µF on typical boards): the chip
 * leaves reset a few milliseconds after RTS is released, and samples IO0
 * then. That is why esptool's sequences may pass through "both asserted".
 */
const EN_RISE_MS = 5;

/**
 * A simulated ESP32-family chip on a BytePort: its ROM bootloader (SLIP, the
 * ROM command set, a NOR flash array, eFuse MAC) in download mode, and in
 * application mode whatever its flash boots into. On an in-memory pair it
 * sees DTR/RTS through a classic auto-reset circuit (EN low while RTS is
 * asserted and DTR is not; IO0 low while DTR is asserted and RTS is not) and
 * samples IO0 once EN has risen; the UART speaks only at the rate both ends agree
 * on. On a pty, which has no modem lines, it stays in the mode it powered up
 * in until the host sends "run user code" (FLASH_END 1).
 */
export class Esp32Simulator {
  readonly flash: SpiFlash;
  readonly model: ChipModel;
  private readonly port: BytePort;
  private readonly options: Esp32SimulatorOptions;
  private readonly registers: ChipRegisters;
  private readonly decoder: SlipDecoder;
  private readonly unsubscribers: Array<() => void> = [];
  private rom: RomLoader;
  private currentMode: ChipMode = 'in-reset';
  /** Bumped on every reset: work started before it is dropped. */
  private epoch = 0;
  private readonly queue: Buffer[] = [];
  private draining = false;
  private timers = new Set<NodeJS.Timeout>();
  private lines = { dtr: true, rts: true };
  private chipBaud = ROM_BAUD;
  private hostBaud: number | undefined;
  private unplugged = false;
  private sendingStrays = false;
  private noiseSent = false;
  /** Every version the chip has booted, in order (tests check what a unit ended up running). */
  readonly bootedVersions: Array<string | undefined> = [];
  /** Bytes received while the two ends disagreed on the baud rate: noise on a real line. */
  garbledBytes = 0;

  constructor(port: BytePort, options: Esp32SimulatorOptions) {
    this.port = port;
    this.options = options;
    this.model = CHIP_MODELS[options.chip];
    const mac = parseMac(options.mac);
    const flashSize = options.flashSize ?? 4 * 1024 * 1024;
    this.flash = new SpiFlash(flashSize, { badSectorAt: options.faults?.badSectorAt, weakBitAt: options.faults?.weakBitAt });
    for (const { offset, data } of options.flashContents ?? []) this.flash.bytes.set(data, offset);
    this.registers = new ChipRegisters(this.model, mac, flashSize);
    this.rom = this.newRom();
    this.decoder = new SlipDecoder((event) => {
      if (event.type === 'packet') this.enqueue(event.packet);
    });
    this.unsubscribers.push(port.onData((chunk) => this.receive(chunk)));
    if (options.lineEvents) this.unsubscribers.push(options.lineEvents((event) => this.onLine(event)));
    this.powerUp(options.powerOn === 'application' ? 'application' : 'download');
  }

  get mode(): ChipMode {
    return this.currentMode;
  }

  async stop(): Promise<void> {
    this.epoch++;
    this.clearTimers();
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }

  /** Power-on or EN rising: the ROM samples IO0 and either waits for download or boots from flash. */
  private powerUp(mode: 'download' | 'application'): void {
    this.epoch++;
    this.clearTimers();
    this.queue.length = 0;
    this.decoder.reset();
    this.chipBaud = ROM_BAUD;
    this.registers.baudRate = ROM_BAUD;
    this.rom = this.newRom();
    if (mode === 'download' && !this.options.faults?.neverSyncs) {
      this.currentMode = 'download';
      this.send(Buffer.from(this.model.romBanner.download, 'latin1'));
      return;
    }
    this.runApplication();
  }

  private runApplication(): void {
    this.currentMode = 'application';
    const epoch = this.epoch;
    const boot = bootFromFlash(this.model, this.flash, this.options.appLines);
    const bootDelayMs = this.options.bootDelayMs ?? 60;
    // The ROM and bootloader lines at once, the application's after it has started.
    const appStart = boot.lines.findIndex((line) => line.includes('cpu_start: Pro cpu up'));
    const early = appStart < 0 ? boot.lines : boot.lines.slice(0, appStart);
    this.send(Buffer.from(early.map((line) => `${line}\r\n`).join(''), 'latin1'));
    if (appStart < 0) {
      // No bootable image: the chip resets and fails the same way again, like a real boot loop.
      this.later(500, () => this.epoch === epoch && this.runApplication());
      return;
    }
    this.later(bootDelayMs, () => {
      if (this.epoch !== epoch) return;
      this.bootedVersions.push(boot.version);
      this.send(Buffer.from(boot.lines.slice(appStart).map((line) => `${line}\r\n`).join(''), 'latin1'));
    });
  }

  private onLine(event: LineControlEvent): void {
    if (event.type === 'baud') {
      this.hostBaud = event.baudRate;
      return;
    }
    const wasEnabled = this.enabled();
    this.lines = { dtr: event.dtr, rts: event.rts };
    if (wasEnabled && !this.enabled()) {
      this.epoch++;
      this.clearTimers();
      this.currentMode = 'in-reset';
    } else if (!wasEnabled && this.enabled()) {
      const epoch = this.epoch;
      this.later(EN_RISE_MS, () => {
        if (this.epoch === epoch && this.enabled()) this.powerUp(this.io0Low() ? 'download' : 'application');
      });
    }
  }

  /** EN is low (chip held in reset) while RTS is asserted and DTR is not. */
  private enabled(): boolean {
    return !(this.lines.rts && !this.lines.dtr);
  }

  /** IO0 is low (download mode at boot) while DTR is asserted and RTS is not. */
  private io0Low(): boolean {
    return this.lines.dtr && !this.lines.rts;
  }

  private receive(chunk: Buffer): void {
    if (this.currentMode !== 'download') return;
    if (this.hostBaud !== undefined && this.hostBaud !== this.chipBaud) {
      // At different rates the UART sees noise, never a packet.
      this.garbledBytes += chunk.length;
      this.decoder.reset();
      return;
    }
    this.decoder.push(chunk);
  }

  private enqueue(packet: Buffer): void {
    this.queue.push(packet);
    if (!this.draining) void this.drain();
  }

  /** The ROM runs one command at a time, in order. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let packet = this.queue.shift(); packet; packet = this.queue.shift()) {
        const epoch = this.epoch;
        const request = parseRomRequest(packet);
        if (!request) continue;
        if (request.op === this.options.faults?.straysInsteadOf?.op) {
          this.sendStrays(this.options.faults.straysInsteadOf.everyMs);
          continue;
        }
        const reply = this.refusedRead(request) ?? (await this.rom.handle(request));
        if (this.epoch !== epoch || this.currentMode !== 'download') continue;
        const noise = this.options.faults?.noiseBeforeAnswer;
        if (noise?.op === request.op && !this.noiseSent) {
          this.noiseSent = true;
          this.send(Buffer.from(noise.bytes));
        }
        for (const response of reply.responses) this.send(slipEncode(response));
        if (reply.after) this.apply(reply.after);
      }
    } finally {
      this.draining = false;
    }
  }

  /** The readRegFailsAt fault: the ROM's answer to a READ_REG it will not do. */
  private refusedRead(request: RomRequest): RomReply | undefined {
    const address = this.options.faults?.readRegFailsAt;
    if (address === undefined || request.op !== ROM_COMMAND.READ_REG || request.data.length !== 4 || request.data.readUInt32LE(0) !== address) return undefined;
    return { responses: [romResponse(request.op, { error: ROM_ERROR.INVALID_MESSAGE })] };
  }

  /** The straysInsteadOf fault: one stray packet every everyMs until a reset or stop clears the timers. */
  private sendStrays(everyMs: number): void {
    if (this.sendingStrays) return;
    this.sendingStrays = true;
    const epoch = this.epoch;
    const next = () =>
      this.later(everyMs, () => {
        if (this.epoch !== epoch) {
          this.sendingStrays = false;
          return;
        }
        this.send(STRAY_PACKET);
        next();
      });
    next();
  }

  private apply(after: RomAfter): void {
    switch (after.type) {
      case 'change-baud':
        this.chipBaud = after.baudRate;
        this.registers.baudRate = after.baudRate;
        return;
      case 'run-user-code':
        this.epoch++;
        // The application sets up its console UART itself, at ESP-IDF's default rate.
        this.chipBaud = ROM_BAUD;
        this.runApplication();
        return;
      case 'reboot':
        this.powerUp(this.options.lineEvents ? (this.io0Low() ? 'download' : 'application') : (this.options.powerOn ?? 'download'));
        return;
      case 'run-ram':
        this.epoch++;
        this.currentMode = 'running-ram';
        return;
    }
  }

  private newRom(): RomLoader {
    return new RomLoader({
      model: this.model,
      flash: this.flash,
      registers: this.registers,
      timing: this.options.flashTiming ?? INSTANT_FLASH,
      wait: (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()),
      onProgrammed: (total) => {
        const limit = this.options.faults?.unplugAfterBytes;
        if (limit !== undefined && total >= limit) this.unplug();
      },
    });
  }

  private unplug(): void {
    if (this.unplugged) return;
    this.unplugged = true;
    this.epoch++;
    this.currentMode = 'unplugged';
    this.clearTimers();
    if (this.options.hangUp) this.options.hangUp();
    else void this.port.close();
  }

  private send(bytes: Buffer): void {
    if (!this.port.isOpen || bytes.length === 0) return;
    if (this.hostBaud !== undefined && this.hostBaud !== this.chipBaud) return;
    this.port.write(bytes).catch(() => undefined);
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.sendingStrays = false;
  }
}

/** "24:0a:c4:12:34:56" (or with dashes, or bare hex) to six bytes. */
export function parseMac(text: string): Uint8Array {
  const hex = text.replace(/[:-]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw new Error(`"${text}" is not a MAC address`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
