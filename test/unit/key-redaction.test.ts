import { describe, expect, it } from 'vitest';
import { redactKey } from '../../main/core/devices/key-redaction.ts';

const key = 'k3y-0123456789abcdef0123456789ab';

describe('a piece of the api key in device text', () => {
  it('is replaced wherever the echo was cut: the whole key, a prefix, a suffix, a middle, a piece glued to a label', () => {
    expect(redactKey(`ERR BADARG CREDS SET t1 ${key}`, key)).toBe('ERR BADARG CREDS SET t1 [api key]');
    expect(redactKey('ERR BADARG CREDS SET t1 k3y-01', key)).toBe('ERR BADARG CREDS SET t1 [api key]');
    expect(redactKey('ERR BADARG k3', key)).toBe('ERR BADARG [api key]');
    expect(redactKey('…789ab stored', key)).toBe('[api key] stored');
    expect(redactKey('at 89abcdef0: bad', key)).toBe('at [api key] bad');
    expect(redactKey(`key=${key.slice(0, 9)}`, key)).toBe('[api key]');
  });

  it('keeps the words that carry none of it, and all the text when no key was given', () => {
    expect(redactKey('ERR STORAGE flash write failed', key)).toBe('ERR STORAGE flash write failed');
    expect(redactKey(`ERR BADARG ${key}`, undefined)).toBe(`ERR BADARG ${key}`);
  });
});
