import type { BindingInterface, BindingPortInterface, OpenOptions } from '@serialport/bindings-interface';
import { hungUp, isUnixBindingPort, type ReadResult } from './unix-tty-io.ts';

type SerialBinding = BindingInterface;

/**
 * The serialport binding as the station uses it. On bindings-cpp's unix
 * ports serialport's stream never reads or writes (the port reads and writes
 * the descriptor itself, `unix-tty-io.ts`), so they pass through as they are.
 * On any other binding a read that returns 0 bytes is a hang-up
 * (serialport/bindings-cpp#162): @serialport/stream would only end its
 * readable side and never close.
 */
export function stationBinding(binding: SerialBinding): SerialBinding {
  return {
    list: () => binding.list(),
    async open(options: OpenOptions): Promise<BindingPortInterface> {
      const port = await binding.open(options);
      if (isUnixBindingPort(port)) return port;
      return new Proxy(port, {
        get(target, property) {
          if (property === 'read') {
            return async (buffer: Buffer, offset: number, length: number): Promise<ReadResult> => {
              const result = await target.read(buffer, offset, length);
              if (result.bytesRead === 0) throw hungUp();
              return result;
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
}
