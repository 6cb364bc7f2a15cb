import type { ReceivedFile, ReceiveOptions, SendOptions, SendResult, TransferLink } from './transfer-types.ts';
import { receiveFileWindowed, sendFileWindowed } from './window-transfer.ts';
import { receiveFileStopAndWait } from './ymodem-receiver.ts';
import { sendFileStopAndWait } from './ymodem-sender.ts';

/**
 * The one place that picks a transfer by its protocol: YMODEM and XMODEM-1K
 * stop and wait for each block, ymodem-window streams with a sliding window.
 */
export function sendFile(link: TransferLink, options: SendOptions): Promise<SendResult> {
  return options.protocol === 'ymodem-window' ? sendFileWindowed(link, options) : sendFileStopAndWait(link, options);
}

/** The receiving side, for simulated units (the mirror of sendFile). */
export function receiveFile(link: TransferLink, options: ReceiveOptions): Promise<ReceivedFile> {
  return options.protocol === 'ymodem-window' ? receiveFileWindowed(link, options) : receiveFileStopAndWait(link, options);
}
