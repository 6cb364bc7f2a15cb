import { EXCERPT_CHARS, printableExcerpt } from '../printable-text.ts';

/**
 * A cloud's own words quoted in an error (a Fleet Freedom `message`, an
 * Exosite content line) are the cloud's to choose: of any length, with any
 * characters. Every adapter quotes them through here, so an error stays a
 * line a person reads, whatever the cloud sent.
 */

/** How much of a cloud's text an error quotes: enough to recognise it, never a screenful. */
export const CLOUD_EXCERPT_CHARS = EXCERPT_CHARS;

/** Cloud text as an error quotes it: printable, and at most `max` characters, cut with "…". */
export function cloudExcerpt(text: string, max = CLOUD_EXCERPT_CHARS): string {
  return printableExcerpt(text, max);
}
