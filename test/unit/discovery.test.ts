import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PortDiscovery, type DiscoveredPort, type DiscoveryEvent, type DiscoveryOptions } from '../../main/core/ports/discovery.ts';

function scripted(...answers: Array<DiscoveredPort[] | Error>) {
  let index = 0;
  return async () => {
    const answer = answers[Math.min(index++, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer;
  };
}

const esp = { path: '/dev/ttyACM0', vendorId: '303A', productId: '1001' };
const ftdi = { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001' };
const builtin = { path: '/dev/ttyS0' };

describe('port discovery', () => {
  it('reports arrivals and departures of ports that pass the VID/PID allow-list', async () => {
    const events: DiscoveryEvent[] = [];
    const discovery = new PortDiscovery({
      list: scripted([builtin, esp], [builtin, esp, ftdi], [builtin, ftdi]),
      filters: [{ vendorId: '303a' }, { vendorId: '0403', productId: '6001' }],
      onEvent: (e) => events.push(e),
    });
    await discovery.poll();
    await discovery.poll();
    await discovery.poll();
    expect(events).toEqual([
      { type: 'arrived', port: esp },
      { type: 'arrived', port: ftdi },
      { type: 'departed', path: '/dev/ttyACM0' },
    ]);
    expect(discovery.ports.map((p) => p.path)).toEqual(['/dev/ttyUSB0']);
  });

  it('says once, clearly, when enumeration fails for lack of udevadm, and once when it recovers', async () => {
    const events: DiscoveryEvent[] = [];
    const missing = Object.assign(new Error('spawn udevadm ENOENT'), { code: 'ENOENT' });
    const discovery = new PortDiscovery({ list: scripted(missing, missing, [esp]), onEvent: (e) => events.push(e) });
    await discovery.poll();
    await discovery.poll();
    await discovery.poll();
    expect(events.map((e) => e.type)).toEqual(['enumeration-failed', 'enumeration-restored', 'arrived']);
    const failed = events[0] as Extract<DiscoveryEvent, { type: 'enumeration-failed' }>;
    expect(failed.error.describe()).toMatch(/udevadm is missing.*apt-get install udev.*Ports listed by path in the line configuration keep working/);
  });

  it('points a Linux user at the dialout group on EACCES', async () => {
    const events: DiscoveryEvent[] = [];
    const denied = Object.assign(new Error('EACCES: permission denied, open /dev/ttyACM0'), { code: 'EACCES' });
    await new PortDiscovery({ list: scripted(denied), onEvent: (e) => events.push(e) }).poll();
    const failed = events[0] as Extract<DiscoveryEvent, { type: 'enumeration-failed' }>;
    if (process.platform === 'linux') expect(failed.error.describe()).toContain('usermod -aG dialout');
  });

  it('treats an enumeration that never answers as a failure, not a hang', async () => {
    const events: DiscoveryEvent[] = [];
    const discovery = new PortDiscovery({ list: () => new Promise(() => undefined), listTimeoutMs: 100, onEvent: (e) => events.push(e) });
    await discovery.poll();
    expect(events).toMatchObject([{ type: 'enumeration-failed' }]);
  });

  it('lists the serial ports of a real udevadm enumeration, with their USB ids, through serialport', async () => {
    // A stand-in udevadm on PATH prints a udev database with two USB serial adapters and a disk: the
    // product's default list (SerialPort.list) really spawns it and parses what it prints.
    const events = await withPath(`${fakeUdevadm()}:${process.env.PATH}`, () => pollOnce({ filters: [{ vendorId: '303a' }, { vendorId: '0403' }] }));
    expect(events).toEqual([
      { type: 'arrived', port: expect.objectContaining({ path: '/dev/ttyACM0', vendorId: '303a', productId: '1001', serialNumber: 'F4:12:FA:00:00:01', manufacturer: 'Espressif' }) },
      { type: 'arrived', port: expect.objectContaining({ path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001' }) },
    ]);
  });

  it('without udevadm, says so once instead of throwing', async () => {
    const events = await withPath(mkdtempSync(join(tmpdir(), 'no-udevadm-')), () => pollOnce({}));
    expect(events).toMatchObject([{ type: 'enumeration-failed' }]);
    expect((events[0] as Extract<DiscoveryEvent, { type: 'enumeration-failed' }>).error.describe()).toMatch(/udevadm is missing/);
  });

  it('on this machine, lists exactly the serial ports its udev database names', async () => {
    const udev = spawnSync('udevadm', ['info', '--export-db'], { encoding: 'utf8' });
    // Read independently of serialport: every device node name udev gives a serial tty.
    const expected = udev.error ? undefined : [...udev.stdout.matchAll(/^N: ((?:tty(?:S|WCH|ACM|USB|AMA|MFD|O|XRUSB)|rfcomm)\S*)$/gm)].map((m) => `/dev/${m[1]}`).sort();
    const events = await pollOnce({});
    if (expected === undefined) expect(events).toMatchObject([{ type: 'enumeration-failed' }]);
    else expect(events.map((e) => (e.type === 'arrived' ? e.port.path : e.type)).sort()).toEqual(expected);
  });
});

async function pollOnce(options: Omit<DiscoveryOptions, 'onEvent'>): Promise<DiscoveryEvent[]> {
  const events: DiscoveryEvent[] = [];
  await new PortDiscovery({ ...options, onEvent: (e) => events.push(e) }).poll();
  return events;
}

/** Runs `run` with PATH set to `path`: which udevadm, if any, the enumeration spawns. */
async function withPath<T>(path: string, run: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return await run();
  } finally {
    process.env.PATH = saved;
  }
}

/** A folder holding an executable `udevadm` that prints a small udev database (the format of `udevadm info -e`). */
function fakeUdevadm(): string {
  const dir = mkdtempSync(join(tmpdir(), 'udevadm-'));
  const database = [
    'P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/tty/ttyACM0',
    'N: ttyACM0',
    'E: DEVNAME=/dev/ttyACM0',
    'E: SUBSYSTEM=tty',
    'E: ID_VENDOR_ENC=Espressif',
    'E: ID_VENDOR_ID=303a',
    'E: ID_MODEL_ID=1001',
    'E: ID_SERIAL_SHORT=F4:12:FA:00:00:01',
    '',
    'P: /devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda',
    'N: sda',
    'E: DEVNAME=/dev/sda',
    'E: SUBSYSTEM=block',
    '',
    'P: /devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/ttyUSB0/tty/ttyUSB0',
    'N: ttyUSB0',
    'E: DEVNAME=/dev/ttyUSB0',
    'E: SUBSYSTEM=tty',
    'E: ID_VENDOR_ID=0403',
    'E: ID_MODEL_ID=6001',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'udevadm'), `#!/bin/sh\ncat <<'EOF'\n${database}\nEOF\n`, { mode: 0o755 });
  return dir;
}
