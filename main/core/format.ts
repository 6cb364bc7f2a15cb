/** Durations and sizes as messages print them. */

/** Whole milliseconds under 10 s, whole seconds under 3 min, whole minutes above: "800 ms", "15 s", "59 min". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  // A person reads "59 min" where "3540 s" makes them reach for a calculator.
  return ms < 180_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/** "512 bytes", "256 KiB", "1.5 MiB", "300 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB'];
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * `text` in at most `max` characters: cut with "…" where it is longer,
 * keeping its last `keepEnd` characters too (where the hint of a failure
 * is), and never half of a surrogate pair.
 */
export function fitText(text: string, max: number, keepEnd = 0): string {
  if (text.length <= max) return text;
  const tail = Math.min(keepEnd, max - 1);
  let head = text.slice(0, max - 1 - tail);
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  let end = tail > 0 ? text.slice(text.length - tail) : '';
  if (/^[\udc00-\udfff]/.test(end)) end = end.slice(1);
  return `${head}…${end}`;
}
