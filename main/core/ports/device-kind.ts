import { realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * What a character device is, as far as a screen naming it as a port is
 * concerned. Only a serial port may be named: a pseudo-terminal may be
 * someone's terminal session (the station would read its keystrokes and write
 * into it) or a software bridge (socat, a simulated line); the system's own
 * terminals and the memory devices are never a unit on a serial line; and any
 * other device (a keyboard's input events, a watchdog that reboots the machine
 * when opened and closed, a raw disk) is not one either.
 */
export type DeviceKind = 'serial' | 'pseudo-terminal' | 'system-terminal' | 'memory' | 'not-serial';

/** A device's kind, with the class the system gave it where that says why it is not a serial port. */
export interface DeviceVerdict {
  kind: DeviceKind;
  /** sysfs's class on Linux (misc, input, hidraw, …), when the device has one. */
  deviceClass?: string;
}

/** A Linux device number split as glibc's gnu_dev_major/gnu_dev_minor do (12+20 bits of major, 8+24 of minor, interleaved). */
export function linuxDeviceNumbers(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

/** Where Linux lists every registered character device, as a link into its class. */
export const SYSFS_CHARACTER_DEVICES = '/sys/dev/char';

/**
 * The class sysfs files a character device under (tty, mem, misc, input, …),
 * or undefined where it has no entry: devpts's ptys have none, nor has a
 * machine without sysfs mounted.
 */
export function linuxDeviceClass({ major, minor }: { major: number; minor: number }, sysfs: string = SYSFS_CHARACTER_DEVICES): string | undefined {
  try {
    return basename(realpathSync(join(sysfs, `${major}:${minor}`, 'subsystem')));
  } catch {
    return undefined;
  }
}

/** The serial drivers' fixed majors: 4 from minor 64 (ttyS), 166 (ttyACM), 188 (ttyUSB), 204 (ttyAMA and other low-density ports). */
function fixedSerialMajor({ major, minor }: { major: number; minor: number }): boolean {
  return (major === 4 && minor >= 64) || major === 166 || major === 188 || major === 204;
}

/**
 * By Linux's fixed majors (the kernel's devices.txt) for the terminals and
 * memory devices; any other device is a serial port only if sysfs files it
 * under tty, which every tty driver's ports are, fixed major or dynamic
 * (vendor USB drivers). Where sysfs has no entry, only the fixed serial majors pass.
 */
export function kindByLinuxNumbers(numbers: { major: number; minor: number }, deviceClass: string | undefined): DeviceVerdict {
  const { major, minor } = numbers;
  // 136–143: Unix98 pty slaves (/dev/pts/N); 2 and 3: legacy BSD-style pty masters and slaves (/dev/ptyp0, /dev/ttyp0).
  if ((major >= 136 && major <= 143) || major === 2 || major === 3) return { kind: 'pseudo-terminal' };
  // 5: /dev/tty, /dev/console, /dev/ptmx; 4 below 64: the virtual consoles tty0–tty63 (64 and up are the ttyS serial ports); 7: /dev/vcs*.
  if (major === 5 || (major === 4 && minor < 64) || major === 7) return { kind: 'system-terminal' };
  // 1: mem, kmem, null, port, zero, full, random, urandom, kmsg.
  if (major === 1) return { kind: 'memory' };
  if (deviceClass === 'tty' || (deviceClass === undefined && fixedSerialMajor(numbers))) return { kind: 'serial' };
  return { kind: 'not-serial', deviceClass };
}

/**
 * By name, where device numbers are not fixed (macOS, the BSDs): serial ports
 * there are /dev/cu.* and /dev/tty.* (macOS) or /dev/cuaU0, /dev/ttyU0 and the
 * like (the BSDs). Also a Linux path not plugged in yet, which is judged again
 * by its numbers when it is opened.
 */
export function kindByName(path: string): DeviceKind {
  if (/^\/dev\/(?:pts\/|ttys\d+$|pty|ttyp)/.test(path)) return 'pseudo-terminal';
  if (/^\/dev\/(?:tty|console|ptmx)$/.test(path)) return 'system-terminal';
  if (/^\/dev\/(?:null|zero|random|urandom|mem|kmem|kmsg|full|port)$/.test(path)) return 'memory';
  if (/^\/dev\/(?:cu|tty)[^/]+$/.test(path)) return 'serial';
  return 'not-serial';
}

/** The kind of an existing character device, by its real path (links already followed). */
export function deviceKind(realPath: string, platform: NodeJS.Platform = process.platform): DeviceVerdict {
  if (platform !== 'linux') return { kind: kindByName(realPath) };
  const numbers = linuxDeviceNumbers(statSync(realPath, { bigint: true }).rdev);
  return kindByLinuxNumbers(numbers, linuxDeviceClass(numbers));
}

/** A kind in the words of an error message. */
export function describeDeviceKind({ kind, deviceClass }: { kind: Exclude<DeviceKind, 'serial'>; deviceClass?: string }): string {
  switch (kind) {
    case 'pseudo-terminal':
      return 'a pseudo-terminal (a terminal session or a software bridge)';
    case 'system-terminal':
      return "one of this machine's own terminals (the console, a virtual console or the controlling terminal)";
    case 'memory':
      return 'a memory device (like /dev/null or /dev/urandom), not a serial port';
    case 'not-serial':
      return deviceClass === undefined
        ? 'a device the system does not list as a serial port'
        : `a device the system lists as ${deviceClass}, not as a serial port (tty)`;
  }
}
