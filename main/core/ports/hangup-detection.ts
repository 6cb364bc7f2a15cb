import { read } from 'node:fs';
import { promisify } from 'node:util';
import type { BindingInterface, BindingPortInterface, OpenOptions } from '@serialport/bindings-interface';

type SerialBinding = BindingInterface;
type ReadResult = { buffer: Buffer; bytesRead: number };

const readAsync = promisify(read);

/**
 * What bindings-cpp's Linux and macOS ports hold: the descriptor, and the
 * poller their own read waits on between bytes.
 */
interface UnixBindingPort {
  readonly isOpen: boolean;
  readonly fd: number | null;
  readonly poller: { once(event: 'readable', callback: (error: Error | null) => void): unknown };
}

function isUnixBindingPort(port: object): port is UnixBindingPort {
  const candidate = port as Partial<UnixBindingPort>;
  return typeof candidate.fd === 'number' && typeof candidate.poller?.once === 'function';
}

function hungUp(): Error {
  return Object.assign(new Error('the device hung up (end of file on read)'), { disconnect: true });
}

function notOpen(): Error {
  // @serialport/stream stops reading quietly on a canceled read (the port was closed on purpose).
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

/**
 * bindings-cpp's unix read with end of file reported instead of retried.
 * bindings-cpp 13 calls read(2) again at once when it returns 0 bytes, which
 * after a hang-up it does forever: a core spun and the port never closed
 * (serialport/bindings-cpp#162, fixed the same way in the unmerged #164).
 */
async function readUntilEndOfFile(port: UnixBindingPort, buffer: Buffer, offset: number, length: number): Promise<ReadResult> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw notOpen();
    let bytesRead: number;
    try {
      ({ bytesRead } = await readAsync(port.fd, buffer, offset, length, null));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw error;
      if (!port.isOpen) throw notOpen();
      // Nothing to read yet: wait for the poller (it fails when the line hangs up meanwhile).
      await new Promise<void>((resolve, reject) => port.poller.once('readable', (failed) => (failed ? reject(failed) : resolve())));
      continue;
    }
    if (bytesRead === 0) throw hungUp();
    return { buffer, bytesRead };
  }
}

/**
 * Reports a hang-up as a disconnect instead of zero-byte reads
 * (serialport/bindings-cpp#162): a zero-byte read is end of file on a tty.
 * On bindings-cpp's unix ports the read itself is replaced, since their own
 * read never returns 0 bytes but retries them in a loop; on any other binding
 * a read that returns 0 bytes becomes the disconnect, because
 * @serialport/stream would only end its readable side and never close.
 */
export function withHangupDetection(binding: SerialBinding): SerialBinding {
  return {
    list: () => binding.list(),
    async open(options: OpenOptions): Promise<BindingPortInterface> {
      const port = await binding.open(options);
      const readPort = async (buffer: Buffer, offset: number, length: number): Promise<ReadResult> => {
        if (isUnixBindingPort(port)) return readUntilEndOfFile(port, buffer, offset, length);
        const result = await port.read(buffer, offset, length);
        if (result.bytesRead === 0) throw hungUp();
        return result;
      };
      return new Proxy(port, {
        get(target, property) {
          if (property === 'read') return readPort;
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
}
