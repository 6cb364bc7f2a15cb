/**
 * Tells a keyboard-wedge barcode scanner from a person typing. A scanner
 * "types" a whole label in a burst, a few milliseconds a key, and ends it
 * with Enter; a person, even a fast one, takes a hundred or more between
 * keys. The scan is the run of keys before Enter whose gaps are short
 * (`maxGapMs`), allowing a rare longer one (a busy computer delivers a key
 * late now and then: one per `keysPerHiccup` keys, up to `hiccupMs`); it
 * counts when it is long enough and its keys came `maxMeanGapMs` apart on
 * average. Keys a person pressed before the run are not part of it.
 */
export interface WedgeTiming {
  maxGapMs: number;
  hiccupMs: number;
  keysPerHiccup: number;
  maxMeanGapMs: number;
  minLength: number;
}

export const WEDGE_TIMING: WedgeTiming = { maxGapMs: 80, hiccupMs: 400, keysPerHiccup: 8, maxMeanGapMs: 35, minLength: 4 };

/** A scan longer than a QR code holds is no scan: keys beyond this are forgotten. */
const MAX_KEYS = 8192;

export type WedgeResult = { kind: 'scan'; text: string } | { kind: 'typed'; text: string };

export class WedgeDetector {
  private readonly timing: WedgeTiming;
  private keys: Array<{ char: string; at: number }> = [];

  constructor(timing: WedgeTiming = WEDGE_TIMING) {
    this.timing = timing;
  }

  /** A printable key, at its event's time (ms). */
  key(char: string, at: number): void {
    this.keys.push({ char, at });
    if (this.keys.length > MAX_KEYS) this.keys.shift();
  }

  /** Enter: what the keys before it were (a scan, or typing), and a fresh start. */
  enter(at: number): WedgeResult {
    const keys = this.keys;
    this.reset();
    const { maxGapMs, hiccupMs, keysPerHiccup, maxMeanGapMs, minLength } = this.timing;
    // Back from Enter, while the gaps are a scanner's.
    let start = keys.length;
    let hiccups = 0;
    let next = at;
    while (start > 0) {
      const gap = next - keys[start - 1]!.at;
      if (gap > hiccupMs) break;
      if (gap > maxGapMs) {
        const allowed = Math.max(1, Math.floor((keys.length - start + 1) / keysPerHiccup));
        if (hiccups >= allowed) break;
        hiccups++;
      }
      start--;
      next = keys[start]!.at;
    }
    const run = keys.slice(start);
    const text = run.map((key) => key.char).join('');
    const mean = run.length > 0 ? (at - run[0]!.at) / run.length : Infinity;
    return run.length >= minLength && mean <= maxMeanGapMs ? { kind: 'scan', text } : { kind: 'typed', text: keys.map((key) => key.char).join('') };
  }

  reset(): void {
    this.keys = [];
  }
}

/** A key that types a character (not Shift, not a shortcut). */
export function isPrintable(event: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean }): boolean {
  return event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey;
}

/** Where a person types on purpose: keys there are theirs, not a scan for the line. */
export function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}
