import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkScreenPort, loadStationPolicy, refuseDeviceKind, type StationPolicy } from '../../main/core/desk/station-policy.ts';
import { deviceKind, kindByLinuxNumbers, kindByName, linuxDeviceClass, linuxDeviceNumbers } from '../../main/core/ports/device-kind.ts';

/** glibc's gnu_dev_makedev: the inverse of what is under test, written from its definition. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

/** What a refusal says, message and hint; 'accepted' where `check` refuses nothing. */
const said = (check: () => unknown): string => {
  try {
    check();
    return 'accepted';
  } catch (error) {
    return `${(error as Error).message} | ${(error as { hint?: string }).hint ?? ''}`;
  }
};
const refusal = (port: string, policy: StationPolicy): string => said(() => checkScreenPort(port, policy));

/**
 * A sysfs laid out as the kernel does, under `root`: devices/NAME/subsystem
 * links to class/CLASS, and dev/char/MAJOR:MINOR links to devices/NAME.
 * Returns its dev/char folder.
 */
function fakeSysfs(root: string, devices: { name: string; major: number; minor: number; deviceClass: string }[]): string {
  mkdirSync(join(root, 'dev', 'char'), { recursive: true });
  for (const { name, major, minor, deviceClass } of devices) {
    mkdirSync(join(root, 'class', deviceClass), { recursive: true });
    mkdirSync(join(root, 'devices', name), { recursive: true });
    symlinkSync(join(root, 'class', deviceClass), join(root, 'devices', name, 'subsystem'));
    symlinkSync(join(root, 'devices', name), join(root, 'dev', 'char', `${major}:${minor}`));
  }
  return join(root, 'dev', 'char');
}

describe('device numbers, as glibc splits them', () => {
  it('reads the real devices of this machine at their fixed numbers (the kernel\'s devices.txt)', () => {
    const at = (path: string) => linuxDeviceNumbers(statSync(path, { bigint: true }).rdev);
    expect(at('/dev/null')).toEqual({ major: 1, minor: 3 });
    expect(at('/dev/urandom')).toEqual({ major: 1, minor: 9 });
    expect(at('/dev/tty')).toEqual({ major: 5, minor: 0 });
    expect(at('/dev/ptmx')).toEqual({ major: 5, minor: 2 });
  });

  it('keeps the high bits of a large major and minor, which (rdev >> 8) & 0xff would lose', () => {
    for (const [major, minor] of [
      [136, 3],
      [511, 300],
      [0x12345, 0xabcde],
      [4095, 255],
      [4096, 256],
    ] as const) {
      expect(linuxDeviceNumbers(makedev(major, minor)), `${major}:${minor}`).toEqual({ major, minor });
    }
  });
});

describe('what kind of device a screen names', () => {
  it('by Linux numbers: ptys 136–143, system terminals, virtual consoles below 64 but serial ports from 64, memory devices', () => {
    const kind = (major: number, minor: number, deviceClass?: string) => kindByLinuxNumbers({ major, minor }, deviceClass).kind;
    expect(kind(136, 3)).toBe('pseudo-terminal');
    expect(kind(143, 1)).toBe('pseudo-terminal');
    for (const minor of [0, 1, 2]) expect(kind(5, minor, 'tty')).toBe('system-terminal');
    expect(kind(4, 1, 'tty')).toBe('system-terminal');
    expect(kind(4, 63, 'tty')).toBe('system-terminal');
    expect(kind(4, 64, 'tty'), 'ttyS0').toBe('serial');
    expect(kind(7, 1, 'vc'), 'vcs1').toBe('system-terminal');
    for (const minor of [1, 3, 5, 7, 8, 9, 11]) expect(kind(1, minor, 'mem')).toBe('memory');
    for (const [major, minor] of [
      [188, 0],
      [166, 0],
      [204, 64],
    ] as const) {
      expect(kind(major, minor, 'tty'), `${major}:${minor} (ttyUSB, ttyACM, ttyAMA)`).toBe('serial');
    }
  });

  it('any other device is a serial port only if sysfs files it under tty: a dynamic major of a vendor driver is, a keyboard or a watchdog is not', () => {
    expect(kindByLinuxNumbers({ major: 240, minor: 0 }, 'tty'), "a vendor USB driver's dynamic major").toEqual({ kind: 'serial' });
    expect(kindByLinuxNumbers({ major: 13, minor: 64 }, 'input'), '/dev/input/event0').toEqual({ kind: 'not-serial', deviceClass: 'input' });
    expect(kindByLinuxNumbers({ major: 10, minor: 130 }, 'misc'), '/dev/watchdog').toEqual({ kind: 'not-serial', deviceClass: 'misc' });
    expect(kindByLinuxNumbers({ major: 244, minor: 0 }, 'hidraw'), '/dev/hidraw0').toEqual({ kind: 'not-serial', deviceClass: 'hidraw' });
    // Without a sysfs entry (no sysfs mounted) only the serial drivers' fixed majors pass.
    expect(kindByLinuxNumbers({ major: 188, minor: 3 }, undefined).kind).toBe('serial');
    expect(kindByLinuxNumbers({ major: 4, minor: 64 }, undefined).kind).toBe('serial');
    expect(kindByLinuxNumbers({ major: 10, minor: 130 }, undefined)).toEqual({ kind: 'not-serial', deviceClass: undefined });
    expect(kindByLinuxNumbers({ major: 144, minor: 0 }, undefined).kind).toBe('not-serial');
  });

  it("reads a device's class from sysfs: this machine's own, and a sysfs laid out as the kernel does", () => {
    expect(linuxDeviceClass({ major: 1, minor: 3 }), '/dev/null').toBe('mem');
    expect(linuxDeviceClass({ major: 5, minor: 0 }), '/dev/tty').toBe('tty');
    const root = mkdtempSync(join(tmpdir(), 'sysfs-'));
    try {
      const sysfs = fakeSysfs(root, [{ name: 'ttyXRUSB0', major: 240, minor: 0, deviceClass: 'tty' }]);
      expect(linuxDeviceClass({ major: 240, minor: 0 }, sysfs)).toBe('tty');
      expect(linuxDeviceClass({ major: 240, minor: 1 }, sysfs), 'no entry').toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('by name on macOS and the BSDs, where numbers are not fixed: only cu.* and tty.* names are serial ports', () => {
    for (const path of ['/dev/ttys003', '/dev/ptyp0', '/dev/ttyp0', '/dev/pts/4']) expect(kindByName(path), path).toBe('pseudo-terminal');
    for (const path of ['/dev/tty', '/dev/console']) expect(kindByName(path), path).toBe('system-terminal');
    for (const path of ['/dev/null', '/dev/zero', '/dev/random', '/dev/urandom']) expect(kindByName(path), path).toBe('memory');
    for (const path of ['/dev/tty.usbserial-1410', '/dev/cu.usbmodem101', '/dev/cuaU0', '/dev/ttyACM0', '/dev/ttyS0', '/dev/ttysomething']) expect(kindByName(path), path).toBe('serial');
    for (const path of ['/dev/rdisk0', '/dev/disk2s1', '/dev/bpf0', '/dev/klog']) expect(kindByName(path), path).toBe('not-serial');
    expect(deviceKind('/dev/null', 'darwin')).toEqual({ kind: 'memory' });
  });
});

describe('ports a screen may not name, held by checkScreenPort on real devices', () => {
  let dir: string;
  let policy: StationPolicy;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'device-kind-'));
    policy = loadStationPolicy(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses the memory devices and the machine\'s own terminals, saying what each is and what to name instead', () => {
    for (const port of ['/dev/null', '/dev/zero', '/dev/urandom', '/dev/full']) {
      expect(refusal(port, policy), port).toMatch(new RegExp(`^port ${port} is a memory device .*which a screen may not name \\| Name a serial port \\(e\\.g\\. /dev/ttyACM0`));
    }
    const system = ['/dev/tty', '/dev/ptmx', '/dev/console', '/dev/tty1', '/dev/kmsg'].filter((port) => existsSync(port));
    expect(system, 'this machine has /dev/tty and /dev/ptmx at least').toEqual(expect.arrayContaining(['/dev/tty', '/dev/ptmx']));
    for (const port of system) {
      expect(refusal(port, policy), port).toMatch(new RegExp(`^port ${port} is (one of this machine's own terminals|a memory device).*which a screen may not name`));
    }
  });

  it('follows links: a link to /dev/null is refused, named with where it leads', () => {
    const link = join(dir, 'ttyUSB0');
    symlinkSync('/dev/null', link);
    expect(refusal(link, policy)).toMatch(`port ${link} (/dev/null) is a memory device`);
  });

  it('refuses the misc devices of this machine that are not serial ports, saying what the system lists them as', async ({ annotate }) => {
    const misc = ['/dev/fuse', '/dev/net/tun', '/dev/kvm', '/dev/autofs', '/dev/loop-control', '/dev/cpu_dma_latency'].filter((port) => existsSync(port));
    if (misc.length === 0) await annotate('this machine has none of the usual misc devices; their words are checked from sysfs below');
    for (const port of misc) {
      expect(refusal(port, policy), port).toMatch(new RegExp(`^port ${port} is a device the system lists as misc, not as a serial port \\(tty\\), which a screen may not name \\| Name a serial port`));
    }
  });

  it("refuses a watchdog and a keyboard's input events by the class sysfs gives their numbers, naming where a link leads", () => {
    // Their nodes cannot be made without root, nor opened safely (a watchdog opened and closed may reboot the machine): judged from their numbers and a sysfs laid out as the kernel does.
    const sysfs = fakeSysfs(join(dir, 'sys'), [
      { name: 'watchdog', major: 10, minor: 130, deviceClass: 'misc' },
      { name: 'event0', major: 13, minor: 64, deviceClass: 'input' },
    ]);
    const verdict = (major: number, minor: number) => kindByLinuxNumbers({ major, minor }, linuxDeviceClass({ major, minor }, sysfs));
    expect(said(() => refuseDeviceKind('/dev/watchdog', '/dev/watchdog', verdict(10, 130), policy))).toMatch(
      /^port \/dev\/watchdog is a device the system lists as misc, not as a serial port \(tty\), which a screen may not name \| Name a serial port/,
    );
    expect(said(() => refuseDeviceKind('/dev/input/event0', '/dev/input/event0', verdict(13, 64), policy))).toMatch(
      /^port \/dev\/input\/event0 is a device the system lists as input, not as a serial port \(tty\), which a screen may not name \| Name a serial port/,
    );
    // Named through a link, it is the device it leads to that is named.
    expect(said(() => refuseDeviceKind('/dev/serial/by-id/usb-x', '/dev/watchdog', verdict(10, 130), policy))).toMatch(/^port \/dev\/serial\/by-id\/usb-x \(\/dev\/watchdog\) is a device the system lists as misc/);
    // Without a sysfs entry, a device that is not on a serial driver's fixed major is refused all the same.
    expect(said(() => refuseDeviceKind('/dev/watchdog', '/dev/watchdog', kindByLinuxNumbers({ major: 10, minor: 130 }, undefined), policy))).toMatch(
      /^port \/dev\/watchdog is a device the system does not list as a serial port, which a screen may not name/,
    );
  });

  it('a pty not there yet is refused unless the policy allows ptys; a serial device not plugged in yet is not', () => {
    expect(refusal('/dev/pts/4093', policy)).toMatch(/^port \/dev\/pts\/4093 is a pseudo-terminal \(a terminal session or a software bridge\), which a screen may not name \| .*"pseudoTerminals": true in the station policy file/);
    expect(refusal('/dev/ttyACM7', policy)).toBe('accepted');
    writeFileSync(join(dir, 'station-policy.json'), JSON.stringify({ pseudoTerminals: true }));
    const allowing = loadStationPolicy(dir);
    expect(allowing.pseudoTerminals).toBe(true);
    expect(refusal('/dev/pts/4093', allowing)).toBe('accepted');
    // Allowing ptys does not allow the system's terminals.
    expect(refusal('/dev/tty', allowing)).toMatch(/one of this machine's own terminals/);
    expect(refusal('/dev/null', allowing)).toMatch(/memory device/);
  });

  it('a path under /dev not there yet is refused where it could later be anything: a link to nothing, a world-writable folder', async ({ annotate }) => {
    // /dev/fd/N of a file deleted while open: the link is there, its target is not (nor a device).
    const deleted = join(dir, 'deleted');
    writeFileSync(deleted, 'x');
    const fd = openSync(deleted, 'r+');
    try {
      unlinkSync(deleted);
      expect(refusal(`/dev/fd/${fd}`, policy)).toMatch(new RegExp(`^port /dev/fd/${fd} is a link that leads to no device`));
    } finally {
      closeSync(fd);
    }
    expect(refusal('/dev/null/ttyUSB0', policy)).toMatch(/^port \/dev\/null\/ttyUSB0 does not exist, and \/dev\/null is not a folder/);
    expect(refusal('/dev/serial/by-id/usb-FTDI_FT232R-if00-port0', policy)).toBe('accepted');
    if (!existsSync('/dev/shm')) {
      await annotate('this machine has no /dev/shm; the world-writable folder is not checked here');
      return;
    }
    expect(refusal('/dev/shm/ttyUSB9', policy)).toMatch(/^port \/dev\/shm\/ttyUSB9 does not exist, and \/dev\/shm is a folder any program may create files in/);
  });

  it('a real serial port stays allowed', async ({ annotate }) => {
    // ttyS0 (4:64) is the first minor past the virtual consoles: the edge of the rule.
    if (!existsSync('/dev/ttyS0')) {
      await annotate('this machine has no /dev/ttyS0; the 4:64 edge is checked by numbers above');
      return;
    }
    expect(linuxDeviceNumbers(statSync('/dev/ttyS0', { bigint: true }).rdev)).toEqual({ major: 4, minor: 64 });
    expect(refusal('/dev/ttyS0', policy)).toBe('accepted');
  });

  it('the policy field is a boolean, off by default', () => {
    expect(policy.pseudoTerminals).toBe(false);
    writeFileSync(join(dir, 'station-policy.json'), JSON.stringify({ pseudoTerminals: 'yes' }));
    expect(() => loadStationPolicy(dir)).toThrow(/station-policy.json is invalid: .*pseudoTerminals/);
  });
});
