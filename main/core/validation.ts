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

/** JSON.parse, or undefined where the text is not JSON: for stored values a schema checks next. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * JSON.parse with an error that says which file and where (line and column).
 * V8's own message can quote the text around the mistake, which in a line
 * configuration may be a secret: it is never shown.
 */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const at = syntaxErrorOffset(text);
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    const where = at >= text.length ? 'it ends too early' : `line ${line}, column ${column}`;
    throw new ConfigError(`${source} is not valid JSON: ${where}`, { hint: 'Fix the JSON there (a missing comma, quote or bracket is the usual cause).' });
  }
}

/**
 * Where a JSON text stops being valid: the shortest prefix that fails for a
 * reason other than "ended too early". Found by bisection over prefixes, so
 * no part of the text itself has to be reported.
 */
function syntaxErrorOffset(text: string): number {
  const failure = (length: number): { position?: number; endOfInput: boolean } | undefined => {
    try {
      JSON.parse(text.slice(0, length));
      return undefined;
    } catch (error) {
      const message = (error as Error).message;
      const position = /at position (\d+)/.exec(message)?.[1];
      return { position: position === undefined ? undefined : Number(position), endOfInput: /end of JSON input|Unterminated string/i.test(message) };
    }
  };
  const whole = failure(text.length);
  if (whole?.position !== undefined) return whole.position;
  // V8 named no position (its message quotes the text instead): find where a prefix first goes wrong before its end.
  const fineSoFar = (length: number) => {
    const result = failure(length);
    return result === undefined || result.endOfInput || (result.position !== undefined && result.position >= length);
  };
  let low = 0;
  let high = text.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fineSoFar(middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}
