import { describe, expect, it } from 'vitest';
import { WedgeDetector } from '../../renderer/src/wedge.ts';

/** Types `text` with `gapMs` between keys (one gap per key, the last before Enter) from `start`, then Enter. */
function type(detector: WedgeDetector, text: string, gapMs: number | number[], start = 1000) {
  let at = start;
  const gaps = Array.isArray(gapMs) ? gapMs : Array<number>(text.length).fill(gapMs);
  [...text].forEach((char, index) => {
    detector.key(char, at);
    at += gaps[index] ?? gaps.at(-1)!;
  });
  return detector.enter(at);
}

describe('keyboard-wedge scans told apart from typing', () => {
  it('a burst a few milliseconds a key ending in Enter is a scan', () => {
    expect(type(new WedgeDetector(), 'THERM00000000000001', 8)).toEqual({ kind: 'scan', text: 'THERM00000000000001' });
  });

  it('a key a busy computer delivered late does not cut the scan, one now and then', () => {
    expect(type(new WedgeDetector(), 'THERM01', [5, 5, 60, 5, 5, 5, 5])).toEqual({ kind: 'scan', text: 'THERM01' });
    expect(type(new WedgeDetector(), 'THERM00000000000003', [5, 5, 5, 5, 250, ...Array<number>(14).fill(5)])).toEqual({ kind: 'scan', text: 'THERM00000000000003' });
    // Two late keys in seven: not a scanner.
    expect(type(new WedgeDetector(), 'THERM01', [5, 200, 5, 200, 5, 5, 5])).toMatchObject({ kind: 'typed' });
  });

  it('a person typing, even fast, is not a scan; nor is a short burst', () => {
    expect(type(new WedgeDetector(), 'THERM00000000000001', 150)).toEqual({ kind: 'typed', text: 'THERM00000000000001' });
    expect(type(new WedgeDetector(), 'THERM00000000000001', 70)).toMatchObject({ kind: 'typed' });
    expect(type(new WedgeDetector(), 'AB', 5)).toMatchObject({ kind: 'typed' });
    // Enter pressed by hand after a fast run.
    const detector = new WedgeDetector();
    for (const [index, char] of [...'THERM01'].entries()) detector.key(char, 1000 + index * 5);
    expect(detector.enter(1500)).toMatchObject({ kind: 'typed' });
  });

  it('keys a person pressed before a scan are not part of it', () => {
    const detector = new WedgeDetector();
    detector.key('x', 0);
    detector.key('y', 400);
    expect(type(detector, 'THERM02', 6, 2000)).toEqual({ kind: 'scan', text: 'THERM02' });
  });
});
