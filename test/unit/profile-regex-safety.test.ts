import { describe, expect, it } from 'vitest';
import { parseTextProfile, referenceProfile, referenceWindowProfile } from '../../main/core/devices/profile/load-profile.ts';
import { nestedQuantifier } from '../../main/core/devices/profile/safe-pattern.ts';
import { ProfileDriver } from '../../main/core/devices/profile-driver.ts';
import { TimeoutError } from '../../main/core/errors.ts';
import { createMemoryPortPair } from '../../main/core/ports/memory-port.ts';

describe('a profile cannot freeze the station with its regular expressions', () => {
  it('finds nested quantifiers, and only those', () => {
    for (const bad of ['^SN (?<serial>([A-Z0-9]+)+)$', '(a*)*', '(\\d+)*x', '((ab)+)+', '(a+){2,}', '(?:x[0-9]+)+']) expect(nestedQuantifier(bad), bad).toBeDefined();
    for (const fine of ['^SERIAL (?<serial>\\S+)$', '(ab)+', '[+*()]+', '\\(a+\\)+', '(a{1,3})+', '^CREDS (?<thingId>\\S+) (?<keyHash>[0-9a-f]{16})$', '(a|b)+']) {
      expect(nestedQuantifier(fine), fine).toBeUndefined();
    }
    for (const profile of [referenceProfile, referenceWindowProfile]) expect(parseTextProfile(profile)).toBeDefined();
  });

  it('refuses the nested quantifier when a profile is validated, naming the field and the group', () => {
    const profile = structuredClone(referenceProfile) as unknown as { commands: { readSerial: { expect: string } } };
    profile.commands.readSerial.expect = '^SN (?<serial>([A-Z0-9]+)+)$';
    expect(() => parseTextProfile(profile, 'profiles/slow.json')).toThrow(/commands\.readSerial\.expect: repeats a repeated group \(\(\[A-Z0-9\]\+\)\+\)/);
  });

  it('an expression that passes validation but backtracks exponentially ends at the read timeout, and the event loop keeps running', async () => {
    // (A|AA)* on 45 A's and a '!': about 10^9 ways to fail without V8's linear-time fallback.
    const profile = parseTextProfile({ ...referenceProfile, responseTimeoutMs: 500, commands: { ...referenceProfile.commands, readSerial: { send: 'SERIAL?', expect: '^SN (?<serial>(A|AA)*)$' } } });
    const [station, device] = createMemoryPortPair('mem://redos');
    device.onData(() => void device.write(Buffer.from(`SN ${'A'.repeat(45)}!\n`)));
    const driver = new ProfileDriver(station, profile);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    const started = performance.now();
    try {
      await expect(driver.identify()).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      clearInterval(ticker);
      await driver.close();
    }
    expect(performance.now() - started).toBeLessThan(5000);
    // The loop was never blocked for long: the ticker ran through the whole wait.
    expect(ticks).toBeGreaterThan(10);
  });
});
