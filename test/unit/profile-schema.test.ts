import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadProfile, parseTextProfile, referenceProfile } from '../../main/core/devices/profile/load-profile.ts';
import { ConfigError } from '../../main/core/errors.ts';

const at = () => JSON.parse(readFileSync('profiles/examples/at-thermometer.json', 'utf8')) as Record<string, unknown>;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('device profiles', () => {
  it('has the reference profile built in, with the spec defaults', async () => {
    expect(await loadProfile('reference')).toBe(referenceProfile);
    expect(referenceProfile.serial.baudRate).toBe(115200);
    expect(referenceProfile.maxLineLength).toBe(256);
    expect(referenceProfile.commands.flash?.transfer).toBe('ymodem');
  });

  it('accepts the AT example and fills defaults', () => {
    const profile = parseTextProfile(at());
    expect(profile.lineEnding).toBe('\r\n');
    expect(profile.commands.flash).toBeUndefined();
  });

  it('names the bad field: an invalid regular expression', () => {
    const data = at();
    (data.commands as Record<string, { expect: unknown }>).readSerial!.expect = '^+SN:(';
    const error = errorOf(() => parseTextProfile(data, 'profiles/bad.json'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('profiles/bad.json is invalid');
    expect(error.message).toContain('commands.readSerial.expect');
  });

  it('names the bad field: a missing capture group and an unknown placeholder', () => {
    const data = at();
    const commands = data.commands as Record<string, { send: string; expect: unknown }>;
    commands.readSerial!.expect = '^\\+SN:(\\S+)$';
    commands.writeCredentials!.send = 'AT+CREDS={thing},{apiKey}';
    const error = errorOf(() => parseTextProfile(data));
    expect(error.message).toContain('commands.readSerial.expect: needs a named group (?<serial>…)');
    expect(error.message).toContain('commands.writeCredentials.send: unknown placeholder {thing}');
  });

  it('names the bad field: wrong types and unknown keys', () => {
    const error = errorOf(() => parseTextProfile({ ...at(), serial: { baudRate: 'fast' }, colour: 'blue' }));
    expect(error.message).toContain('serial.baudRate');
    expect(error.message).toMatch(/colour/);
  });

  it('says which file could not be read or parsed', async () => {
    await expect(loadProfile('/nonexistent/profile.json')).rejects.toThrow(/device profile \/nonexistent\/profile.json could not be read \(ENOENT\)/);
  });
});
