import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

/** A secret written in a configuration file, or (better) a reference to an environment variable or a file holding it. */
export const secretRefSchema = z.union([
  z.string().min(1),
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]);
export type SecretRef = z.infer<typeof secretRefSchema>;

/** The value of a secret reference; errors say which field and never the value. */
export async function resolveSecret(ref: SecretRef, field: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value) throw new ConfigError(`${field}: the environment variable ${ref.env} is not set`);
    return value;
  }
  try {
    const value = (await readFile(ref.file, 'utf8')).trim();
    if (!value) throw new Error('empty');
    return value;
  } catch (error) {
    throw new ConfigError(`${field}: the secret file ${ref.file} could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
