/** THERM00000000000001 … THERM00000000000nnn: the serial numbers the demo line's simulated units use. */
export function demoSerials(count = 100): string[] {
  return Array.from({ length: count }, (_, i) => `THERM${String(i + 1).padStart(14, '0')}`);
}
