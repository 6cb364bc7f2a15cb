import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseProfile } from '../../main/core/devices/profile/load-profile.ts';
import { deviceProfileSchema } from '../../main/core/devices/profile/schema.ts';

const doc = readFileSync('profiles/README.md', 'utf8');

/** Every field path a profile may have, from the schema itself: objects are walked, wrappers (optional, default) looked through. */
function fieldPaths(schema: z.ZodType, prefix = ''): string[] {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
  if (!(inner instanceof z.ZodObject)) return [];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...fieldPaths(child, path)];
  });
}

describe('profiles/README.md documents the profile format exactly', () => {
  it('names every field of the schema in its table, and no field the schema does not have', () => {
    const documented = [...doc.matchAll(/^\| `([a-zA-Z.]+)` \|/gm)].map((match) => match[1]!);
    const schema = fieldPaths(deviceProfileSchema);
    expect(schema.length).toBeGreaterThan(40);
    expect([...documented].sort()).toEqual([...schema].sort());
  });

  it('every JSON example on the page is a valid profile', () => {
    const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const example of examples) expect(() => parseProfile(JSON.parse(example), 'an example in profiles/README.md')).not.toThrow();
  });
});
