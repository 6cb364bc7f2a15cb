import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface PrinterEmulator {
  host: string;
  port: number;
  /** Every label received, in order, as ZPL text (^XA … ^XZ). */
  readonly jobs: string[];
  /** Called with each label as it arrives. */
  onJob(listener: (zpl: string) => void): () => void;
  stop(): Promise<void>;
}

/** Labels larger than this are not labels: the connection is dropped. */
const MAX_JOB_BYTES = 1024 * 1024;

/**
 * A label printer's raw port, as Zebra printers serve it on 9100: it takes
 * whatever ZPL a connection sends and keeps each label (^XA … ^XZ) as a job.
 * Stopped, it refuses connections, like a printer that is off.
 */
export async function startPrinterEmulator(options: { port?: number; host?: string } = {}): Promise<PrinterEmulator> {
  const jobs: string[] = [];
  const listeners = new Set<(zpl: string) => void>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_JOB_BYTES) return void socket.destroy();
      // Each complete label is a job; a connection may carry several.
      for (let end = text.search(/\^XZ/i); end >= 0; end = text.search(/\^XZ/i)) {
        const start = text.search(/\^XA/i);
        const label = text.slice(start >= 0 && start < end ? start : 0, end + 3);
        text = text.slice(end + 3);
        jobs.push(label);
        for (const listener of listeners) listener(label);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    jobs,
    onJob: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
