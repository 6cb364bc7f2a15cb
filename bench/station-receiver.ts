/**
 * The station's own YMODEM / ymodem-window receiver (the one in the simulated
 * unit) as a program on stdin/stdout, like lrzsz's rb: so the wire benchmark
 * can put it behind the same relay as rb. Writes the file into the current
 * folder under the name the sender gave, and exits 0.
 *
 *   node bench/station-receiver.ts <ymodem|ymodem-window>
 */
import { writeFileSync } from 'node:fs';
import { BaseBytePort } from '../main/core/ports/base-port.ts';
import { PortReader } from '../main/core/ports/port-reader.ts';
import { receiveFile } from '../main/core/transfer/transfer.ts';

/** A BytePort on this process's stdin and stdout (pipes from the relay). */
class StdioPort extends BaseBytePort {
  constructor() {
    super('stdio');
    process.stdin.on('data', (chunk: Buffer) => this.lifecycle.emitData(chunk));
    process.stdin.once('end', () => this.lifecycle.endDisconnected('the relay closed stdin'));
  }

  write(data: Uint8Array, options: { timeoutMs?: number } = {}): Promise<void> {
    const stall = { hint: 'The relay stopped taking data.', hangUp: () => this.lifecycle.endDisconnected('stdout stalled') };
    return this.timedWrite(data.byteLength, options.timeoutMs ?? 10_000, stall, (done) => process.stdout.write(data, (error) => done(error ?? undefined)));
  }

  async close(): Promise<void> {
    this.lifecycle.endClosed();
  }
}

const protocol = process.argv[2];
if (protocol !== 'ymodem' && protocol !== 'ymodem-window') {
  console.error('usage: station-receiver <ymodem|ymodem-window>');
  process.exit(2);
}
const port = new StdioPort();
const file = await receiveFile({ port, reader: new PortReader(port) }, { protocol, maxBytes: 8 << 20 });
writeFileSync(file.fileName ?? 'received.bin', file.data);
process.exit(0);
