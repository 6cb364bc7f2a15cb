import { statSync } from 'node:fs';

/**
 * What a character device is, as far as a screen naming it as a port is
 * concerned. A pseudo-terminal may be someone's terminal session (the station
 * would read its keystrokes and write into it) or a software bridge (socat, a
 * simulated line); the system's own terminals and the memory devices are
 * never a unit on a serial line.
 */
export type DeviceKind = 'pseudo-terminal' | 'system-terminal' | 'memory' | 'other';

/** A Linux device number split as glibc's gnu_dev_major/gnu_dev_minor do (12+20 bits of major, 8+24 of minor, interleaved). */
export function linuxDeviceNumbers(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

/** Linux's fixed character-device majors (the kernel's devices.txt). */
export function kindByLinuxNumbers({ major, minor }: { major: number; minor: number }): DeviceKind {
  // 136–143: Unix98 pty slaves (/dev/pts/N); 2 and 3: legacy BSD-style pty masters and slaves (/dev/ptyp0, /dev/ttyp0).
  if ((major >= 136 && major <= 143) || major === 2 || major === 3) return 'pseudo-terminal';
  // 5: /dev/tty, /dev/console, /dev/ptmx; 4 below 64: the virtual consoles tty0–tty63 (64 and up are the ttyS serial ports); 7: /dev/vcs*.
  if (major === 5 || (major === 4 && minor < 64) || major === 7) return 'system-terminal';
  // 1: mem, kmem, null, port, zero, full, random, urandom, kmsg.
  if (major === 1) return 'memory';
  return 'other';
}

/** By name, where device numbers are not fixed (macOS, the BSDs), and for a Linux path not plugged in yet. */
export function kindByName(path: string): DeviceKind {
  if (/^\/dev\/(?:pts\/|ttys\d+$|pty|ttyp)/.test(path)) return 'pseudo-terminal';
  if (/^\/dev\/(?:tty|console|ptmx)$/.test(path)) return 'system-terminal';
  if (/^\/dev\/(?:null|zero|random|urandom|mem|kmem|kmsg|full|port)$/.test(path)) return 'memory';
  return 'other';
}

/** The kind of an existing character device, by its real path (links already followed). */
export function deviceKind(realPath: string, platform: NodeJS.Platform = process.platform): DeviceKind {
  if (platform === 'linux') return kindByLinuxNumbers(linuxDeviceNumbers(statSync(realPath, { bigint: true }).rdev));
  return kindByName(realPath);
}

/** A kind in the words of an error message. */
export function describeDeviceKind(kind: Exclude<DeviceKind, 'other'>): string {
  switch (kind) {
    case 'pseudo-terminal':
      return 'a pseudo-terminal (a terminal session or a software bridge)';
    case 'system-terminal':
      return "one of this machine's own terminals (the console, a virtual console or the controlling terminal)";
    case 'memory':
      return 'a memory device (like /dev/null or /dev/urandom), not a serial port';
  }
}
