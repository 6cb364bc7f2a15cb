import { fitText } from './format.ts';

/**
 * Text from outside the station quoted in an error, an event or a log line
 * (a cloud's message, an Exosite content line, a unit's boot log): its
 * sender chooses every character and its length. Every cloud adapter and
 * device driver quotes such text through here: its control characters are
 * shown as escapes, so a terminal, a log viewer or a screen shows them instead
 * of obeying them (ESC ] 0;… BEL retitling a window, ESC [ 2 J clearing it, a
 * bidi override reordering the rest of the line).
 */

/** How much outside text an error quotes: enough to recognise it, never a screenful. */
export const EXCERPT_CHARS = 200;

/** Control characters (C0, DEL, C1), line and paragraph separators and bidi overrides. */
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const HAS_UNPRINTABLE = new RegExp(UNPRINTABLE.source);

/** `text` with every unprintable character as an escape: \x1b, \u202e. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** True when `text` holds a character `printable` would escape. */
export function hasUnprintable(text: string): boolean {
  return HAS_UNPRINTABLE.test(text);
}

/** Outside text as an error quotes it: printable, and at most `max` characters, cut with "…". */
export function printableExcerpt(text: string, max = EXCERPT_CHARS): string {
  return fitText(printable(text), max);
}
