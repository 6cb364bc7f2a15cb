import { constants, Inflate } from 'pako';
import { FLASH_SECTOR } from '../../devices/firmware-image.ts';
import { ROM_COMMAND as OP, ROM_ERROR, romChecksum, romResponse, SYNC_DATA, type RomRequest } from '../../devices/esp32/rom-protocol.ts';
import type { ChipModel } from './chip-models.ts';
import type { ChipRegisters } from './chip-registers.ts';
import type { SpiFlash } from './spi-flash.ts';

/** How long the flash chip takes; zero by default (tests), datasheet-like on request (benchmarks). */
export interface FlashTiming {
  eraseMsPerKiB: number;
  programMsPerKiB: number;
}

export const INSTANT_FLASH: FlashTiming = { eraseMsPerKiB: 0, programMsPerKiB: 0 };
/** Typical figures of a 4 MB SPI NOR part (e.g. GD25Q32C: 64 KiB block erase 150 ms, 256-byte page program 0.7 ms). */
export const REALISTIC_FLASH: FlashTiming = { eraseMsPerKiB: 2.4, programMsPerKiB: 2.8 };

/** What the chip does once the response has gone out. */
export type RomAfter = { type: 'change-baud'; baudRate: number } | { type: 'run-user-code' } | { type: 'reboot' } | { type: 'run-ram' };

export interface RomReply {
  responses: Buffer[];
  after?: RomAfter;
}

export interface RomLoaderOptions {
  model: ChipModel;
  flash: SpiFlash;
  registers: ChipRegisters;
  timing: FlashTiming;
  /** Called with the running total of bytes programmed (the "unplug mid-flash" fault counts them). */
  onProgrammed?: (total: number) => void;
  wait: (ms: number) => Promise<void>;
}

interface WriteSession {
  compressed: boolean;
  offset: number;
  /** Bytes the host announced (rounded up to its block size by the host, as the ROM expects). */
  size: number;
  blockSize: number;
  nextSeq: number;
  /** Decompressed bytes written so far (compressed sessions). */
  written: number;
  inflater?: Inflate;
  /** A compressed block that failed: its retries fail the same way (a bad sector stays bad, the stream cannot rewind). */
  failed: { seq: number; error: number } | undefined;
}

/** The largest data block the ROM's receive buffer takes (esptool's stub uses 16 KiB; the ROM is sent 1 KiB). */
const MAX_BLOCK = 0x4000;

/**
 * The ROM bootloader's command handler: one request in, its response(s) out.
 * It is the ROM, not the flasher stub: four status bytes, SPI_FLASH_MD5 as
 * 32 hex characters, flash erased up front by FLASH_BEGIN/FLASH_DEFL_BEGIN,
 * each block written before it is acknowledged.
 */
export class RomLoader {
  private readonly options: RomLoaderOptions;
  private session: WriteSession | undefined;
  private programmed = 0;
  private ramBytes = 0;

  constructor(options: RomLoaderOptions) {
    this.options = options;
  }

  async handle(request: RomRequest): Promise<RomReply> {
    const { op, data } = request;
    const reply = (options: { value?: number; data?: Uint8Array; error?: number } = {}, after?: RomAfter): RomReply => ({
      responses: [romResponse(op, options)],
      after,
    });
    const invalid = () => reply({ error: ROM_ERROR.INVALID_MESSAGE });
    switch (op) {
      case OP.SYNC:
        if (!data.equals(SYNC_DATA)) return invalid();
        // The ROM answers a SYNC eight times; the value echoes the sync word.
        return { responses: Array.from({ length: 8 }, () => romResponse(op, { value: 0x20120707 })) };
      case OP.READ_REG:
        if (data.length !== 4) return invalid();
        return reply({ value: this.options.registers.read(data.readUInt32LE(0)) });
      case OP.WRITE_REG:
        if (data.length === 0 || data.length % 16 !== 0) return invalid();
        for (let at = 0; at < data.length; at += 16) {
          this.options.registers.write(data.readUInt32LE(at), data.readUInt32LE(at + 4), data.readUInt32LE(at + 8));
        }
        return reply();
      case OP.SPI_SET_PARAMS:
        return data.length === 24 ? reply() : invalid();
      case OP.SPI_ATTACH:
        return data.length === 4 || data.length === 8 ? reply() : invalid();
      case OP.CHANGE_BAUDRATE:
        if (data.length !== 8 || data.readUInt32LE(0) === 0) return invalid();
        return reply({}, { type: 'change-baud', baudRate: data.readUInt32LE(0) });
      case OP.FLASH_BEGIN:
      case OP.FLASH_DEFL_BEGIN:
        return this.begin(op, data);
      case OP.FLASH_DATA:
      case OP.FLASH_DEFL_DATA:
        return this.block(op, request);
      case OP.FLASH_END:
      case OP.FLASH_DEFL_END: {
        if (data.length !== 4) return invalid();
        this.session = undefined;
        // 0: reboot; 1: "run user code" (leave the loader and start the application).
        return reply({}, data.readUInt32LE(0) === 0 ? { type: 'reboot' } : { type: 'run-user-code' });
      }
      case OP.SPI_FLASH_MD5: {
        if (data.length !== 16) return invalid();
        const address = data.readUInt32LE(0);
        const size = data.readUInt32LE(4);
        if (!this.options.flash.contains(address, size)) return reply({ error: ROM_ERROR.FLASH_READ_LENGTH_ERROR });
        return reply({ data: Buffer.from(this.options.flash.md5(address, size), 'ascii') });
      }
      case OP.READ_FLASH_SLOW: {
        if (!this.options.model.readFlashSlow || data.length !== 8) return invalid();
        const address = data.readUInt32LE(0);
        const length = data.readUInt32LE(4);
        if (length > 64 || !this.options.flash.contains(address, length)) return reply({ error: ROM_ERROR.FLASH_READ_LENGTH_ERROR });
        // Always a 64-byte buffer, whatever was asked for.
        const block = Buffer.alloc(64, 0xff);
        Buffer.from(this.options.flash.read(address, length)).copy(block);
        return reply({ data: block });
      }
      case OP.GET_SECURITY_INFO: {
        const info = this.options.model.securityInfo;
        if (!info) return invalid();
        const payload = Buffer.alloc(20);
        payload.writeUInt32LE(info.chipId, 12);
        payload.writeUInt32LE(info.ecoVersion, 16);
        return reply({ data: payload });
      }
      case OP.MEM_BEGIN:
        if (data.length !== 16) return invalid();
        this.ramBytes = 0;
        return reply();
      case OP.MEM_DATA: {
        const payload = data.subarray(16);
        if (data.length < 16 || data.readUInt32LE(0) !== payload.length) return invalid();
        if (romChecksum(payload) !== request.checksum) return reply({ error: ROM_ERROR.INVALID_CRC });
        this.ramBytes += payload.length;
        return reply();
      }
      case OP.MEM_END:
        // Code loaded into RAM would run now; the simulated chip cannot run it and goes quiet.
        return data.length === 8 ? reply({}, data.readUInt32LE(0) === 0 ? { type: 'run-ram' } : undefined) : invalid();
      default:
        return invalid();
    }
  }

  private async begin(op: number, data: Buffer): Promise<RomReply> {
    const reply = (error?: number) => ({ responses: [romResponse(op, { error })] });
    // Four words, and a fifth ("encrypted") from hosts that talk to chips that can encrypt.
    if (data.length !== 16 && data.length !== 20) return reply(ROM_ERROR.INVALID_MESSAGE);
    const size = data.readUInt32LE(0);
    const blockSize = data.readUInt32LE(8);
    const offset = data.readUInt32LE(12);
    const { flash, timing, wait } = this.options;
    if (blockSize === 0 && size !== 0) return reply(ROM_ERROR.INVALID_MESSAGE);
    if (blockSize > MAX_BLOCK || !flash.contains(offset, size) || offset % FLASH_SECTOR !== 0) return reply(ROM_ERROR.INVALID_MESSAGE);
    // The ROM erases the whole region before it acknowledges.
    flash.erase(offset, size);
    await wait((size / 1024) * timing.eraseMsPerKiB);
    const compressed = op === OP.FLASH_DEFL_BEGIN;
    this.session = { compressed, offset, size, blockSize, nextSeq: 0, written: 0, failed: undefined, inflater: compressed ? new Inflate() : undefined };
    return reply();
  }

  private async block(op: number, request: RomRequest): Promise<RomReply> {
    const reply = (error?: number) => ({ responses: [romResponse(op, { error })] });
    const { data } = request;
    const session = this.session;
    if (data.length < 16) return reply(ROM_ERROR.INVALID_MESSAGE);
    const payload = data.subarray(16);
    if (data.readUInt32LE(0) !== payload.length) return reply(ROM_ERROR.INVALID_MESSAGE);
    if (romChecksum(payload) !== request.checksum) return reply(ROM_ERROR.INVALID_CRC);
    if (!session || session.compressed !== (op === OP.FLASH_DEFL_DATA)) return reply(ROM_ERROR.FAILED_TO_ACT);
    const seq = data.readUInt32LE(4);
    if (session.failed) return reply(session.failed.seq === seq ? session.failed.error : ROM_ERROR.FAILED_TO_ACT);
    if (seq !== session.nextSeq) return reply(ROM_ERROR.INVALID_MESSAGE);
    const error = session.compressed ? await this.writeCompressed(session, payload) : await this.writePlain(session, seq, payload);
    if (error !== undefined) {
      if (session.compressed) session.failed = { seq, error };
      return reply(error);
    }
    session.nextSeq++;
    return reply();
  }

  private async writePlain(session: WriteSession, seq: number, payload: Buffer): Promise<number | undefined> {
    const address = session.offset + seq * session.blockSize;
    if (payload.length > session.blockSize || !this.options.flash.contains(address, payload.length)) return ROM_ERROR.INVALID_MESSAGE;
    return this.program(address, payload);
  }

  private async writeCompressed(session: WriteSession, payload: Buffer): Promise<number | undefined> {
    const chunks: Uint8Array[] = [];
    const inflater = session.inflater!;
    inflater.onData = (chunk) => chunks.push(chunk as Uint8Array);
    // Z_SYNC_FLUSH: hand over everything this block decompresses to, as the ROM writes it before acknowledging.
    inflater.push(payload, constants.Z_SYNC_FLUSH);
    if (inflater.err) return ROM_ERROR.DEFLATE_ERROR;
    const output = Buffer.concat(chunks);
    if (session.written + output.length > session.size) return ROM_ERROR.DEFLATE_ERROR;
    const error = await this.program(session.offset + session.written, output);
    session.written += output.length;
    return error;
  }

  private async program(address: number, bytes: Uint8Array): Promise<number | undefined> {
    if (bytes.length === 0) return undefined;
    if (!this.options.flash.program(address, bytes)) return ROM_ERROR.FLASH_WRITE_ERROR;
    await this.options.wait((bytes.length / 1024) * this.options.timing.programMsPerKiB);
    this.programmed += bytes.length;
    this.options.onProgrammed?.(this.programmed);
    return undefined;
  }
}
