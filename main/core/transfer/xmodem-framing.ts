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

/** Bytes on the wire for a block of `size` payload bytes: header, sequence, its complement, payload, CRC-16. */
export function framedSize(size: 128 | 1024): number {
  return 3 + size + 2;
}

/** Frames one block: header, sequence number and its complement, payload padded with SUB (or NUL for block 0), CRC-16. */
export function frameBlock(sequence: number, payload: Uint8Array, size: 128 | 1024, padByte = PAD): Buffer {
  const frame = Buffer.allocUnsafe(framedSize(size));
  frameBlockInto(frame, 0, sequence, payload, size, padByte);
  return frame;
}

/** frameBlock, written into `target` at `at` (many blocks in one buffer). */
export function frameBlockInto(target: Buffer, at: number, sequence: number, payload: Uint8Array, size: 128 | 1024, padByte = PAD): void {
  const body = at + 3;
  const data = payload.subarray(0, size);
  target[at] = size === LARGE_BLOCK ? STX : SOH;
  target[at + 1] = sequence & 0xff;
  target[at + 2] = 0xff - (sequence & 0xff);
  target.set(data, body);
  target.fill(padByte, body + data.length, body + size);
  const crc = crc16Xmodem(target, body, body + size);
  target[body + size] = crc >> 8;
  target[body + size + 1] = crc & 0xff;
}

/** YMODEM block 0: "name NUL size", NUL padded; an all-NUL block 0 ends the batch. */
export function headerPayload(fileName: string, size: number): Buffer {
  return Buffer.from(`${fileName}\0${size}\0`, 'latin1');
}

/** Block 0 framed: the header of a file, in a 128-byte block when it fits. */
export function headerFrame(fileName: string, size: number): Buffer {
  const header = headerPayload(fileName, size);
  return frameBlock(0, header, header.length <= SMALL_BLOCK ? SMALL_BLOCK : LARGE_BLOCK, 0x00);
}

/** The all-NUL block 0 that ends a YMODEM batch, framed. */
export function batchEndFrame(): Buffer {
  return frameBlock(0, new Uint8Array(0), SMALL_BLOCK, 0x00);
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
