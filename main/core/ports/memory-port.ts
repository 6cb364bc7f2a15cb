import type { BytePort } from './byte-port.ts';
import { BaseBytePort } from './base-port.ts';
import { checkBaudRate, OPEN_PORT_SIGNALS, type LineControl, type LineControlEvent, type LineSignals } from './line-control.ts';

/** An in-memory port: its control calls are recorded, and the other end sees them as a chip wired to DTR/RTS would. */
export interface MemoryBytePort extends BytePort {
  readonly control: LineControl;
  /** Every control call made on this end, in order, with when it was made. */
  readonly controlCalls: readonly LineControlEvent[];
  /** The other end's control calls, delivered in order with the bytes written before them. */
  onPeerControl(listener: (event: LineControlEvent) => void): () => void;
}

class MemoryPort extends BaseBytePort implements MemoryBytePort {
  peer: MemoryPort | undefined;
  readonly controlCalls: LineControlEvent[] = [];
  private readonly peerControlListeners = new Set<(event: LineControlEvent) => void>();
  private signals: LineSignals = { ...OPEN_PORT_SIGNALS };

  readonly control: LineControl = {
    setSignals: async (signals) => {
      if (this.lifecycle.isEnded) throw this.lifecycle.endedError();
      this.signals = { ...this.signals, ...signals };
      this.record({ type: 'signals', atMs: performance.now(), ...this.signals });
    },
    setBaudRate: async (baudRate) => {
      if (this.lifecycle.isEnded) throw this.lifecycle.endedError();
      checkBaudRate(baudRate, this.path);
      this.record({ type: 'baud', atMs: performance.now(), baudRate });
    },
  };

  async write(data: Uint8Array): Promise<void> {
    if (this.lifecycle.isEnded) throw this.lifecycle.endedError();
    const chunk = Buffer.from(data);
    const peer = this.peer;
    // Delivered on a later turn, like bytes from a real wire.
    setImmediate(() => peer?.receive(chunk));
  }

  onPeerControl(listener: (event: LineControlEvent) => void): () => void {
    this.peerControlListeners.add(listener);
    return () => this.peerControlListeners.delete(listener);
  }

  private record(event: LineControlEvent): void {
    this.controlCalls.push(event);
    const peer = this.peer;
    // Same queue as the bytes, so the far end sees lines and data in the order they were sent.
    setImmediate(() => peer?.receiveControl(event));
  }

  private receive(chunk: Buffer): void {
    this.lifecycle.emitData(chunk);
  }

  private receiveControl(event: LineControlEvent): void {
    if (this.lifecycle.isEnded) return;
    for (const listener of this.peerControlListeners) listener(event);
  }

  async close(): Promise<void> {
    if (!this.lifecycle.endClosed()) return;
    this.peerControlListeners.clear();
    this.peer?.lifecycle.endDisconnected('the other end hung up');
  }
}

/** Two BytePorts wired to each other in memory: an in-process simulator's line. */
export function createMemoryPortPair(stationPath: string, devicePath = `${stationPath}#device`): [MemoryBytePort, MemoryBytePort] {
  const station = new MemoryPort(stationPath);
  const device = new MemoryPort(devicePath);
  station.peer = device;
  device.peer = station;
  return [station, device];
}
