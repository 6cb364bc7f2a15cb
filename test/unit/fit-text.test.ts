import { describe, expect, it } from 'vitest';
import { printableExcerpt } from '../../main/core/printable-text.ts';
import { fitText } from '../../main/core/format.ts';

describe('fitText and printableExcerpt: text fitted to a limit', () => {
  it('keeps text within the limit, with its start and the end asked for, and never half a surrogate pair', () => {
    expect(fitText('short', 10)).toBe('short');
    expect(fitText('abcdefghijkl', 10)).toBe('abcdefghi…');
    expect(fitText('abcdefghijkl', 10, 3)).toBe('abcdef…jkl');
    // "😀" is two UTF-16 units: a cut through it drops it whole.
    const emoji = fitText(`abcdefgh😀xyz`, 10);
    expect(emoji).toBe('abcdefgh…');
    expect(fitText(`abc😀defghij`, 8, 5)).toBe('ab…fghij');
    expect(fitText(`abcdefghij😀k`, 6, 2)).toBe('abc…k');
  });

  it('quotes cloud text printable and short: control characters, C1 controls and bidi overrides as escapes', () => {
    expect(printableExcerpt('a\u001b[2Jb\u009bc\u202ed\n')).toBe('a\\x1b[2Jb\\x9bc\\u202ed\\x0a');
    const long = printableExcerpt('\u0007'.repeat(500));
    expect(long.length).toBe(200);
    expect(long.endsWith('…')).toBe(true);
  });
});
