import type { BindingInterface, BindingPortInterface, OpenOptions } from '@serialport/bindings-interface';
import { hungUp, isUnixBindingPort, readOnEventLoop, writeOnEventLoop, type ReadResult } from './unix-tty-io.ts';

type SerialBinding = BindingInterface;

/**
 * The serialport binding as the station uses it. serialport still opens and
 * configures the line (baud, framing, lock, modem lines); on bindings-cpp's
 * unix ports the bytes are read and written on the event loop
 * (`unix-tty-io.ts`), as Node's own tty streams do, instead of through the
 * thread pool, and end of file is a hang-up (serialport/bindings-cpp#162). On
 * any other binding a read that returns 0 bytes becomes the disconnect,
 * because @serialport/stream would only end its readable side and never close.
 */
export function stationBinding(binding: SerialBinding): SerialBinding {
  return {
    list: () => binding.list(),
    async open(options: OpenOptions): Promise<BindingPortInterface> {
      const port = await binding.open(options);
      if (isUnixBindingPort(port)) return onEventLoop(port, port);
      return new Proxy(port, {
        get(target, property) {
          if (property === 'read') {
            return async (buffer: Buffer, offset: number, length: number): Promise<ReadResult> => {
              const result = await target.read(buffer, offset, length);
              if (result.bytesRead === 0) throw hungUp();
              return result;
            };
          }
          return bound(target, property);
        },
      });
    },
  };
}

function bound(target: BindingPortInterface, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

/** A bindings-cpp unix port whose read and write run on the event loop; drain waits for that write too. */
function onEventLoop(target: BindingPortInterface, unix: Parameters<typeof readOnEventLoop>[0]): BindingPortInterface {
  let writing: Promise<void> | undefined;
  const read = (buffer: Buffer, offset: number, length: number) => readOnEventLoop(unix, buffer, offset, length);
  const write = (buffer: Buffer) => {
    const done = writeOnEventLoop(unix, buffer);
    writing = done.catch(() => undefined);
    return done;
  };
  const drain = async () => {
    await writing;
    await target.drain();
  };
  return new Proxy(target, {
    get(_target, property) {
      if (property === 'read') return read;
      if (property === 'write') return write;
      if (property === 'drain') return drain;
      return bound(target, property);
    },
  });
}
