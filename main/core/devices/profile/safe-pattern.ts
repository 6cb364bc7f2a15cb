import { setFlagsFromString } from 'node:v8';
import { z } from 'zod';

/**
 * V8 switches a regular expression to its linear-time engine once it
 * backtracks too much, so a device profile's pattern cannot freeze the
 * station (a match then costs time in proportion to the line, not 2^n).
 * The desktop app also passes it to its renderers as a js-flag.
 */
export const LINEAR_REGEXP_FALLBACK = '--enable-experimental-regexp-engine-on-excessive-backtracks';

let fallbackOn = false;

/** Sets the fallback in this process (once); expressions compiled afterwards use it. */
export function enableLinearRegexpFallback(): void {
  if (fallbackOn) return;
  setFlagsFromString(LINEAR_REGEXP_FALLBACK);
  fallbackOn = true;
}

/** A profile's pattern, compiled where runaway backtracking falls back to linear time. */
export function compileProfilePattern(source: string): RegExp {
  enableLinearRegexpFallback();
  return new RegExp(source);
}

/**
 * Finds a repeated group that itself repeats something, such as `(a+)+` or
 * `(\d*)*`: the classic shape of catastrophic backtracking. Returns the
 * offending group's text, or undefined. Bounded repeats (`?`, `{0,3}`) are
 * not counted; alternations like `(a|aa)*` are left to the linear fallback.
 */
export function nestedQuantifier(source: string): string | undefined {
  const groups: Array<{ start: number; repeats: boolean }> = [];
  const markRepeat = () => {
    const inner = groups.at(-1);
    if (inner) inner.repeats = true;
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      // A character class: skip to its closing bracket (escapes inside included).
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      continue;
    }
    if (c === '(') {
      groups.push({ start: i, repeats: false });
      continue;
    }
    const unbounded = c === '+' || c === '*' || (c === '{' && /^\{\d+,\}/.test(source.slice(i)));
    if (c === ')') {
      const group = groups.pop();
      if (!group) continue;
      const next = source.slice(i + 1);
      const repeated = /^(?:[+*]|\{\d+,\})/.test(next);
      if (repeated && group.repeats) return source.slice(group.start, i + 2);
      // What the group repeats inside, its parent repeats too.
      if (group.repeats || repeated) markRepeat();
      continue;
    }
    if (unbounded) markRepeat();
  }
  return undefined;
}

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/**
 * A regular expression from a profile or a configuration: valid, and without
 * a repeated group that repeats (catastrophic backtracking).
 */
export const patternSchema = z
  .string()
  .min(1)
  .max(512)
  .refine(isValidRegex, { message: 'is not a valid regular expression' })
  .superRefine((source, context) => {
    const nested = nestedQuantifier(source);
    if (nested) {
      context.addIssue({
        code: 'custom',
        message: `repeats a repeated group (${nested}), which can take exponential time on a long line; write it without the outer repeat, e.g. ([A-Z0-9]+) instead of ([A-Z0-9]+)+`,
      });
    }
  });

/** A pattern that must capture the named group. */
export const patternWithGroup = (group: string) => patternSchema.refine((source) => source.includes(`(?<${group}>`), `needs a named group (?<${group}>…)`);
