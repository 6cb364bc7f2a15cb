import { describe, expect, it } from 'vitest';
import { PortDiscovery, type DiscoveredPort, type DiscoveryEvent } from '../../main/core/ports/discovery.ts';

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

  it('lists real ports through serialport when udev is present, and never throws', async () => {
    const events: DiscoveryEvent[] = [];
    await new PortDiscovery({ onEvent: (e) => events.push(e) }).poll();
    expect(events.every((e) => e.type === 'arrived' || e.type === 'enumeration-failed')).toBe(true);
  });
});
