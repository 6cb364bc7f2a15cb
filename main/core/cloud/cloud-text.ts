import { fitText } from '../format.ts';

/**
 * A cloud's own words quoted in an error (a Fleet Freedom `message`, an
 * Exosite content line) are the cloud's to choose: of any length, with any
 * characters. Every adapter quotes them through here, so an error stays a
 * line a person reads, whatever the cloud sent.
 */

/** How much of a cloud's text an error quotes: enough to recognise it, never a screenful. */
export const CLOUD_EXCERPT_CHARS = 200;

/** Control characters (C0, DEL, C1), line and paragraph separators and bidi overrides: shown as escapes, so a terminal or a log shows them instead of obeying them. */
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Cloud text as an error quotes it: printable, and at most `max` characters, cut with "…". */
export function cloudExcerpt(text: string, max = CLOUD_EXCERPT_CHARS): string {
  return fitText(printable(text), max);
}
