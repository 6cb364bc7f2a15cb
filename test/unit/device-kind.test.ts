import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkScreenPort, loadStationPolicy, type StationPolicy } from '../../main/core/desk/station-policy.ts';
import { deviceKind, kindByLinuxNumbers, kindByName, linuxDeviceNumbers } from '../../main/core/ports/device-kind.ts';

/** glibc's gnu_dev_makedev: the inverse of what is under test, written from its definition. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

const refusal = (port: string, policy: StationPolicy): string => {
  try {
    checkScreenPort(port, policy);
    return 'accepted';
  } catch (error) {
    return `${(error as Error).message} | ${(error as { hint?: string }).hint ?? ''}`;
  }
};

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
    expect(kindByLinuxNumbers({ major: 136, minor: 3 })).toBe('pseudo-terminal');
    expect(kindByLinuxNumbers({ major: 143, minor: 1 })).toBe('pseudo-terminal');
    expect(kindByLinuxNumbers({ major: 144, minor: 0 })).toBe('other');
    for (const minor of [0, 1, 2]) expect(kindByLinuxNumbers({ major: 5, minor })).toBe('system-terminal');
    expect(kindByLinuxNumbers({ major: 4, minor: 1 })).toBe('system-terminal');
    expect(kindByLinuxNumbers({ major: 4, minor: 63 })).toBe('system-terminal');
    expect(kindByLinuxNumbers({ major: 4, minor: 64 }), 'ttyS0').toBe('other');
    expect(kindByLinuxNumbers({ major: 7, minor: 1 }), 'vcs1').toBe('system-terminal');
    for (const minor of [1, 3, 5, 7, 8, 9, 11]) expect(kindByLinuxNumbers({ major: 1, minor })).toBe('memory');
    for (const [major, minor] of [
      [188, 0],
      [166, 0],
      [204, 64],
    ] as const) {
      expect(kindByLinuxNumbers({ major, minor }), `${major}:${minor} (ttyUSB, ttyACM, ttyAMA)`).toBe('other');
    }
  });

  it('by name on macOS and the BSDs, where numbers are not fixed', () => {
    for (const path of ['/dev/ttys003', '/dev/ptyp0', '/dev/ttyp0', '/dev/pts/4']) expect(kindByName(path), path).toBe('pseudo-terminal');
    for (const path of ['/dev/tty', '/dev/console']) expect(kindByName(path), path).toBe('system-terminal');
    for (const path of ['/dev/null', '/dev/zero', '/dev/random', '/dev/urandom']) expect(kindByName(path), path).toBe('memory');
    for (const path of ['/dev/tty.usbserial-1410', '/dev/cu.usbmodem101', '/dev/ttyACM0', '/dev/ttyS0', '/dev/ttysomething']) expect(kindByName(path), path).toBe('other');
    expect(deviceKind('/dev/null', 'darwin')).toBe('memory');
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
