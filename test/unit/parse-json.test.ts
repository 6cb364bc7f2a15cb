import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../main/core/errors.ts';
import { parseJson } from '../../main/core/validation.ts';

function messageOf(text: string): string {
  try {
    parseJson(text, 'line.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).describe();
  }
  throw new Error('expected a ConfigError');
}

describe('a JSON syntax error says where, never what is written there', () => {
  it.each([
    ['{"cloud": {"password": "hunter2-secret"},\n "ports": tru}', 'line 2, column 14'],
    ['{"productKey": "0123456789abcdef-secret" x}', 'line 1, column 42'],
    ['{"password": "hunter2-sec\nret"}', 'line 1, column 26'],
    ['{"password": "hunter2-secret"', 'it ends too early'],
  ])('%j → %s', (text, where) => {
    const message = messageOf(text);
    expect(message).toContain(`line.json is not valid JSON: ${where}`);
    expect(message).not.toMatch(/hunter2|secret|0123456789/);
  });
});
