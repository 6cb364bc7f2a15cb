import { TransferAbortedError, TransferError } from '../errors.ts';
import { readBlock, type Block } from './block-reader.ts';
import type { ReceivedFile, ReceiveOptions, TransferLink } from './transfer-types.ts';
import { ABORT_SEQUENCE, ACK, CRC_REQUEST, LARGE_BLOCK, NAK, parseHeader } from './xmodem-framing.ts';




/**
 * The receiving side of YMODEM (batch of one file) and XMODEM-1K with CRC-16.
 * The reference device simulator uses it; it is the mirror of sendFile.
 */
export async function receiveFileStopAndWait(link: TransferLink, options: ReceiveOptions): Promise<ReceivedFile> {
  const receiver = new BlockReceiver(link, options);
  try {
    return await receiver.run();
  } catch (error) {
    if (link.port.isOpen && !(error instanceof TransferAbortedError)) await link.port.write(ABORT_SEQUENCE).catch(() => undefined);
    throw error;
  }
}

class BlockReceiver {
  private readonly link: TransferLink;
  private readonly options: ReceiveOptions;
  private readonly blockTimeoutMs: number;
  private readonly maxErrors: number;
  private errors = 0;

  constructor(link: TransferLink, options: ReceiveOptions) {
    this.link = link;
    this.options = options;
    this.blockTimeoutMs = options.blockTimeoutMs ?? 3000;
    this.maxErrors = options.maxErrors ?? 10;
  }

  async run(): Promise<ReceivedFile> {
    let fileName: string | undefined;
    let size = this.options.expectedSize;
    let first = await this.requestBlock(CRC_REQUEST);

    if (this.options.protocol === 'ymodem') {
      while (first.kind !== 'block' || first.sequence !== 0) first = await this.retry(CRC_REQUEST);
      const header = parseHeader(first.payload);
      fileName = header.fileName;
      size = header.size;
      if (size > this.options.maxBytes) throw new TransferError(`the file is ${size} bytes, more than the ${this.options.maxBytes} that fit`);
      await this.link.port.write(Uint8Array.of(ACK));
      first = await this.requestBlock(CRC_REQUEST);
    }

    const chunks: Buffer[] = [];
    let received = 0;
    let expected = 1;
    let eotSeen = false;
    for (let block = first; ; block = await this.nextBlock()) {
      if (block.kind === 'bad') {
        block = await this.retry(NAK);
      }
      if (block.kind === 'eot') {
        // NAK the first EOT: a lone EOT byte can be line noise.
        if (!eotSeen) {
          eotSeen = true;
          await this.link.port.write(Uint8Array.of(NAK));
          continue;
        }
        await this.link.port.write(Uint8Array.of(ACK));
        break;
      }
      if (block.kind !== 'block') continue;
      if (block.sequence === ((expected - 1) & 0xff)) {
        // Our ACK was lost and the sender repeated the block.
        await this.link.port.write(Uint8Array.of(ACK));
        continue;
      }
      if (block.sequence !== (expected & 0xff)) throw new TransferError(`block ${block.sequence} arrived where ${expected & 0xff} was due`);
      chunks.push(block.payload);
      received += block.payload.length;
      if (received > this.options.maxBytes + LARGE_BLOCK) throw new TransferError(`more than ${this.options.maxBytes} bytes arrived`);
      expected++;
      this.options.onBytes?.(received);
      await this.link.port.write(Uint8Array.of(ACK));
    }

    if (this.options.protocol === 'ymodem') {
      // The batch ends with an all-NUL block 0.
      let end = await this.requestBlock(CRC_REQUEST);
      while (end.kind !== 'block' || end.sequence !== 0) end = await this.retry(CRC_REQUEST);
      await this.link.port.write(Uint8Array.of(ACK));
    }

    const data = Buffer.concat(chunks);
    return { fileName, data: size === undefined ? data : data.subarray(0, size) };
  }

  /** Sends an invitation ('C' or NAK) until a block or EOT arrives. */
  private async requestBlock(invitation: number): Promise<Block> {
    await this.link.port.write(Uint8Array.of(invitation));
    const block = await this.nextBlock();
    return block.kind === 'bad' ? this.retry(invitation) : block;
  }

  private async retry(invitation: number): Promise<Block> {
    for (;;) {
      if (++this.errors > this.maxErrors) throw new TransferError(`too many bad or missing blocks (${this.maxErrors})`);
      // Let the rest of a damaged block arrive, then drop it before asking again.
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.link.reader.discardInput();
      await this.link.port.write(Uint8Array.of(invitation));
      const block = await this.nextBlock();
      if (block.kind !== 'bad') return block;
    }
  }

  private nextBlock(): Promise<Block> {
    return readBlock(this.link.reader, this.blockTimeoutMs);
  }
}

