import { printableExcerpt } from '../printable-text.ts';

const MARK = '[api key]';

/** Characters in a row that a word must share with the key to count as carrying part of it. */
const TELLING_RUN = 4;

/**
 * Device text as the station may quote it once a unit was given `key`: every
 * word that carries the key or a piece of it is replaced by [api key]. An
 * echo may be cut anywhere (a prefix at the end of a truncated line, a
 * suffix, a piece glued to a label: "key=k3y-01"); the key has no spaces (it
 * goes to the unit as one word), so any piece of it lies within one word. A
 * word counts when it is itself part of the key or shares 4 characters in a
 * row with it; a short word of the device's own that happens to occur in the
 * key is hidden too, which costs a word of diagnosis, never a piece of key.
 */
export function redactKey(text: string, key: string | undefined): string {
  if (!key) return text;
  return text.replace(/\S+/g, (word) => (carriesPartOf(word, key) ? MARK : word));
}

/**
 * Device text as an error quotes it once the unit was given `key`: no piece of
 * the key (redactKey), no control character, and no longer than an excerpt
 * (a device line may be 4096 bytes).
 */
export function quotedDeviceText(text: string, key: string | undefined): string {
  return printableExcerpt(redactKey(text, key));
}

function carriesPartOf(word: string, key: string): boolean {
  if (key.includes(word)) return true;
  const run = Math.min(TELLING_RUN, key.length);
  for (let start = 0; start + run <= word.length; start++) {
    if (key.includes(word.slice(start, start + run))) return true;
  }
  return false;
}
