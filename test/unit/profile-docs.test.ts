import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseDeviceProfile } from '../../main/core/devices/device-profile.ts';
import { esp32ProfileSchema } from '../../main/core/devices/esp32/esp32-profile.ts';
import { textProfileSchema } from '../../main/core/devices/profile/schema.ts';

const doc = readFileSync('profiles/README.md', 'utf8');

/** Every field path a profile may have, from the schema itself: objects are walked, wrappers (optional, default) looked through. */
function fieldPaths(schema: z.ZodType, prefix = ''): string[] {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
  // A choice of shapes (the serial number's source): the fields of every shape, once each.
  if (inner instanceof z.ZodUnion) return [...new Set((inner.options as z.ZodType[]).flatMap((option) => fieldPaths(option, prefix)))];
  if (!(inner instanceof z.ZodObject)) return [];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...fieldPaths(child, path)];
  });
}

describe('profiles/README.md documents the profile format exactly', () => {
  it('names every field of each schema in its table, and no field the schema does not have', () => {
    const [text, esp32] = doc.split('## ESP32 profiles');
    const documented = (section: string) => [...section.matchAll(/^\| `([a-zA-Z0-9.]+)` \|/gm)].map((match) => match[1]!).sort();
    expect(fieldPaths(textProfileSchema).length).toBeGreaterThan(40);
    expect(documented(text!)).toEqual(fieldPaths(textProfileSchema).sort());
    expect(documented(esp32!)).toEqual(fieldPaths(esp32ProfileSchema).sort());
  });

  it('every JSON example on the page is a valid profile', () => {
    const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) expect(() => parseDeviceProfile(JSON.parse(example), 'an example in profiles/README.md')).not.toThrow();
  });
});
