/**
 * The ESP ROM bootloader's serial protocol (Espressif, "Serial Protocol" in
 * the esptool documentation): a request is [0x00, op, size u16, checksum u32,
 * data], a response [0x01, op, size u16, value u32, data, status]. The ROM of
 * the ESP32 family ends every response with four status bytes: status (0 ok,
 * 1 failed), error code, two reserved.
 */
export const ROM_COMMAND = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  READ_FLASH_SLOW: 0x0e,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
} as const;

/** Error codes the ROM loader puts after a failed status byte. */
export const ROM_ERROR = {
  INVALID_MESSAGE: 0x05,
  FAILED_TO_ACT: 0x06,
  INVALID_CRC: 0x07,
  FLASH_WRITE_ERROR: 0x08,
  FLASH_READ_ERROR: 0x09,
  FLASH_READ_LENGTH_ERROR: 0x0a,
  DEFLATE_ERROR: 0x0b,
} as const;

const ROM_ERROR_TEXT: Record<number, string> = {
  [ROM_ERROR.INVALID_MESSAGE]: 'received message is invalid',
  [ROM_ERROR.FAILED_TO_ACT]: 'failed to act on received message',
  [ROM_ERROR.INVALID_CRC]: 'invalid checksum in message',
  [ROM_ERROR.FLASH_WRITE_ERROR]: 'flash write error (the flash did not keep what was written)',
  [ROM_ERROR.FLASH_READ_ERROR]: 'flash read error',
  [ROM_ERROR.FLASH_READ_LENGTH_ERROR]: 'flash read length error',
  [ROM_ERROR.DEFLATE_ERROR]: 'deflate error (the compressed data did not decompress)',
};

export function describeRomError(code: number): string {
  return ROM_ERROR_TEXT[code] ?? `error 0x${code.toString(16).padStart(2, '0')}`;
}

/** The data of a SYNC request: 0x07 0x07 0x12 0x20 then 32 bytes of 0x55 (for the ROM's auto-baud). */
export const SYNC_DATA = Buffer.from([0x07, 0x07, 0x12, 0x20, ...new Array<number>(32).fill(0x55)]);

/** The checksum of FLASH_DATA/MEM_DATA payloads: XOR of every byte, seeded with 0xEF. */
export function romChecksum(data: Uint8Array): number {
  let state = 0xef;
  for (const byte of data) state ^= byte;
  return state;
}

/** Where the chip detection magic value lives on every ESP chip. */
export const CHIP_DETECT_MAGIC_REG_ADDR = 0x40001000;

export interface RomRequest {
  op: number;
  checksum: number;
  data: Buffer;
}

/** Parses a request packet; undefined when it is not one (wrong direction byte, size that does not match). */
export function parseRomRequest(packet: Buffer): RomRequest | undefined {
  if (packet.length < 8 || packet[0] !== 0x00) return undefined;
  const size = packet.readUInt16LE(2);
  if (packet.length !== 8 + size) return undefined;
  return { op: packet[1]!, checksum: packet.readUInt32LE(4), data: packet.subarray(8) };
}

/** A ROM response: value (READ_REG's result), data, then the four status bytes. */
export function romResponse(op: number, options: { value?: number; data?: Uint8Array; error?: number } = {}): Buffer {
  const data = options.data ?? new Uint8Array(0);
  const packet = Buffer.alloc(8 + data.length + 4);
  packet[0] = 0x01;
  packet[1] = op;
  packet.writeUInt16LE(data.length + 4, 2);
  packet.writeUInt32LE((options.value ?? 0) >>> 0, 4);
  Buffer.from(data).copy(packet, 8);
  if (options.error !== undefined) {
    packet[8 + data.length] = 1;
    packet[9 + data.length] = options.error;
  }
  return packet;
}
