import { TransferError } from '../errors.ts';
import { crc16Xmodem } from './crc16.ts';

/** Control bytes shared by XMODEM and YMODEM. */
export const SOH = 0x01; // 128-byte block follows
export const STX = 0x02; // 1024-byte block follows
export const EOT = 0x04;
export const ACK = 0x06;
export const NAK = 0x15;
export const CAN = 0x18;
export const CRC_REQUEST = 0x43; // 'C': receiver asks for CRC-16 mode
export const PAD = 0x1a; // SUB pads the last block

export const SMALL_BLOCK = 128;
export const LARGE_BLOCK = 1024;

/** Frames one block: header, sequence number and its complement, payload padded with SUB (or NUL for block 0), CRC-16. */
export function frameBlock(sequence: number, payload: Uint8Array, size: 128 | 1024, padByte = PAD): Buffer {
  const frame = Buffer.alloc(3 + size + 2, padByte);
  frame[0] = size === LARGE_BLOCK ? STX : SOH;
  frame[1] = sequence & 0xff;
  frame[2] = 0xff - (sequence & 0xff);
  frame.set(payload.subarray(0, size), 3);
  const crc = crc16Xmodem(frame, 3, 3 + size);
  frame[3 + size] = crc >> 8;
  frame[3 + size + 1] = crc & 0xff;
  return frame;
}

/** YMODEM block 0: "name NUL size", NUL padded; an all-NUL block 0 ends the batch. */
export function headerPayload(fileName: string, size: number): Buffer {
  return Buffer.from(`${fileName}\0${size}\0`, 'latin1');
}

/** Abort sequence: several CANs (receivers want two in a row), then backspaces to clear them from a terminal. */
export const ABORT_SEQUENCE = Buffer.from([CAN, CAN, CAN, CAN, CAN, 0x08, 0x08, 0x08, 0x08, 0x08]);

/** Block 0 of a YMODEM batch: `name NUL size …`. */
export function parseHeader(payload: Buffer): { fileName: string; size: number } {
  const nameEnd = payload.indexOf(0);
  const fileName = payload.subarray(0, nameEnd < 0 ? payload.length : nameEnd).toString('latin1');
  if (fileName === '') throw new TransferError('the batch holds no file');
  const info = payload.subarray(nameEnd + 1).toString('latin1').replace(/\0.*$/s, '');
  const size = Number.parseInt(info.split(' ')[0] ?? '', 10);
  if (!Number.isSafeInteger(size) || size < 0) throw new TransferError('the header block has no valid file size');
  return { fileName, size };
}
