import type { BytePort } from '../ports/byte-port.ts';
import type { PortReader } from '../ports/port-reader.ts';
import type { TransferProgress } from './progress.ts';

/** The block protocols a firmware image can travel by; 'ymodem-window' is YMODEM-1K with a sliding window (window-transfer.ts). */
export const BLOCK_PROTOCOLS = ['ymodem', 'xmodem1k', 'ymodem-window'] as const;
export type BlockProtocol = (typeof BLOCK_PROTOCOLS)[number];

/** The two ends a transfer needs: bytes out, and a reader for the other side's answers. */
export interface TransferLink {
  port: BytePort;
  reader: PortReader;
}

export interface SendOptions {
  protocol: BlockProtocol;
  /** Sent in YMODEM's block 0; ignored by XMODEM. */
  fileName: string;
  data: Uint8Array;
  onProgress?: (progress: TransferProgress) => void;
  signal?: AbortSignal;
  /** How long to wait for the receiver's first 'C'. */
  startTimeoutMs?: number;
  /** How long to wait for each ACK before sending the block again. */
  blockTimeoutMs?: number;
  /** Attempts per block before giving up. */
  maxAttempts?: number;
}

export interface SendResult {
  bytes: number;
  blocks: number;
  /** Blocks sent again after a NAK or a timeout. */
  resends: number;
  durationMs: number;
}

export interface ReceiveOptions {
  protocol: BlockProtocol;
  /** Refuse (CAN) a file larger than this. */
  maxBytes: number;
  /** XMODEM carries no size; the padding is cut to this length. */
  expectedSize?: number;
  /** Called as data arrives (the simulator uses it to hang up mid-transfer). */
  onBytes?: (received: number) => void;
  blockTimeoutMs?: number;
  maxErrors?: number;
}

export interface ReceivedFile {
  fileName: string | undefined;
  data: Buffer;
}
