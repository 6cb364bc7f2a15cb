import net from 'node:net';
import { PortOpenError } from '../errors.ts';
import { BaseBytePort } from './base-port.ts';
import type { BytePort } from './byte-port.ts';
import { LineControlUnsupportedError, type LineControl } from './line-control.ts';

/** Parses tcp://host:port (raw-TCP serial device servers, e.g. RFC 2217-less "raw" mode). */
export function parseTcpAddress(path: string): { host: string; port: number } | undefined {
  const match = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(path);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** A raw-TCP link carries bytes only: no modem lines, and the baud rate is the server's setting. */
function tcpLineControl(path: string): LineControl {
  const where = { port: path };
  return {
    setSignals: async () => {
      throw new LineControlUnsupportedError('a raw-TCP serial device server cannot drive DTR/RTS or send a break', {
        where,
        hint: 'Put the unit into its bootloader by hand (hold BOOT while powering it), or connect it to a local serial port.',
      });
    },
    setBaudRate: async (baudRate) => {
      throw new LineControlUnsupportedError(`a raw-TCP serial device server cannot be switched to ${baudRate} baud from the station`, {
        where,
        hint: 'Set the line speed on the serial device server itself, and keep the profile at that speed.',
      });
    },
  };
}

class TcpBytePort extends BaseBytePort {
  private readonly socket: net.Socket;
  readonly control: LineControl;

  constructor(path: string, socket: net.Socket) {
    super(path);
    this.socket = socket;
    this.control = tcpLineControl(path);
    socket.on('data', (chunk: Buffer) => this.lifecycle.emitData(chunk));
    socket.on('end', () => this.hangUp('the serial device server closed the connection'));
    socket.on('close', () => this.hangUp('the connection to the serial device server was lost'));
    socket.on('error', (error) => this.hangUp(`the connection to the serial device server failed: ${error.message}`));
  }

  write(data: Uint8Array, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 2000 + Math.ceil(data.byteLength / 10);
    const stall = {
      hint: 'The serial device server stopped taking data; check the network and the server.',
      hangUp: () => this.hangUp('the serial device server stopped taking data'),
    };
    return this.timedWrite(data.byteLength, timeoutMs, stall, (done) => {
      this.socket.write(data, done);
    });
  }

  async close(): Promise<void> {
    if (!this.lifecycle.endClosed()) return;
    this.socket.destroy();
  }

  private hangUp(what: string): void {
    if (this.lifecycle.endDisconnected(what)) this.socket.destroy();
  }
}

/** Connects to a raw-TCP serial device server. */
export async function openTcpPort(path: string, options: { connectTimeoutMs?: number } = {}): Promise<BytePort> {
  const address = parseTcpAddress(path);
  if (!address) {
    throw new PortOpenError('not a valid tcp://host:port address', {
      where: { port: path },
      hint: 'Write it as tcp://192.168.1.20:4001.',
      retryable: false,
    });
  }
  const timeoutMs = options.connectTimeoutMs ?? 5000;
  const socket = net.connect({ host: address.host, port: address.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    socket.destroy();
    throw new PortOpenError(
      `could not connect to the serial device server (${error instanceof Error ? error.message : String(error)})`,
      { where: { port: path }, hint: 'Check the server\'s address, port and power.', cause: error },
    );
  }
  return new TcpBytePort(path, socket);
}

/** Wraps an already-connected socket (the device side of a TCP simulator). */
export function socketBytePort(path: string, socket: net.Socket): BytePort {
  socket.setNoDelay(true);
  return new TcpBytePort(path, socket);
}
