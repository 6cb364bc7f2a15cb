import type { z } from 'zod';
import { ConfigError } from './errors.ts';

/** "commands.flash.result.expect: needs a named group (?<sha256>…)" — one line per problem, naming the field. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    return `${path}: ${issue.message}`;
  });
}

/** Parses untrusted data with a schema; failure is a ConfigError that names the source and each bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, data: unknown, source: string, hint?: string): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  throw new ConfigError(`${source} is invalid: ${describeIssues(result.error).join('; ')}`, { hint });
}

/** JSON.parse with an error that says which file and where. */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`${source} is not valid JSON (${(error as Error).message})`);
  }
}
