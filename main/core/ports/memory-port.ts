import type { BytePort } from './byte-port.ts';
import { BaseBytePort } from './base-port.ts';

class MemoryBytePort extends BaseBytePort {
  peer: MemoryBytePort | undefined;

  async write(data: Uint8Array): Promise<void> {
    if (this.lifecycle.isEnded) throw this.lifecycle.endedError();
    const chunk = Buffer.from(data);
    const peer = this.peer;
    // Delivered on a later turn, like bytes from a real wire.
    setImmediate(() => peer?.receive(chunk));
  }

  private receive(chunk: Buffer): void {
    this.lifecycle.emitData(chunk);
  }

  async close(): Promise<void> {
    if (!this.lifecycle.endClosed()) return;
    this.peer?.lifecycle.endDisconnected('the other end hung up');
  }
}

/** Two BytePorts wired to each other in memory: an in-process simulator's line. */
export function createMemoryPortPair(stationPath: string, devicePath = `${stationPath}#device`): [BytePort, BytePort] {
  const station = new MemoryBytePort(stationPath);
  const device = new MemoryBytePort(devicePath);
  station.peer = device;
  device.peer = station;
  return [station, device];
}
