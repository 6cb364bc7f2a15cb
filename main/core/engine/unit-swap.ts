import { stat } from 'node:fs/promises';
import type { DeviceDriver } from '../devices/driver.ts';
import { sleep } from '../sleep.ts';

export interface SwapWatchOptions {
  /** How to ask the port which unit is on it (opens, identifies, closes); used where the device node cannot be watched. */
  identify: () => Promise<string>;
  pollMs?: number;
  /** After a plug-in, how long the unit gets to enumerate and boot before it is spoken to. */
  settleMs?: number;
  signal: AbortSignal;
}

/**
 * Resolves when the next unit is on the port. A device node (/dev/tty…) is
 * watched for the unplug and the plug-in that follow, without opening the
 * port (opening toggles DTR and resets many boards). Where nothing can be
 * watched (tcp://, COMn) the port is asked for its unit until the serial
 * number changes or the port was gone in between.
 */
export async function waitForNextUnit(path: string, lastSerial: string | undefined, options: SwapWatchOptions): Promise<void> {
  const pollMs = options.pollMs ?? 250;
  if (path.startsWith('/')) {
    while (await exists(path)) await sleep(pollMs, options.signal);
    while (!(await exists(path))) await sleep(pollMs, options.signal);
    await sleep(options.settleMs ?? 500, options.signal);
    return;
  }
  let wasGone = false;
  for (;;) {
    await sleep(Math.max(pollMs, 1000), options.signal);
    try {
      const serial = await options.identify();
      if (wasGone || serial !== lastSerial) return;
    } catch {
      wasGone = true;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Identify with a driver that is closed afterwards. */
export async function identifyOnce(connect: () => Promise<DeviceDriver>): Promise<string> {
  const driver = await connect();
  try {
    return (await driver.identify()).serial;
  } finally {
    await driver.close();
  }
}
