import type { TileState } from '../../contract/station-contract.ts';

export const STEP_LABELS: Record<string, string> = {
  identify: 'Identify',
  activate: 'Activate',
  register: 'Register',
  rename: 'Name',
  'target-version': 'Target',
  'current-version': 'Installed',
  download: 'Download',
  flash: 'Flash',
  'write-credentials': 'Credentials',
  'verify-credentials': 'Verify',
  reboot: 'Reboot',
  confirm: 'Confirm',
};

/** Colour is never the only signal: each state has an icon and words too. */
export const STATE_LOOK: Record<TileState, { icon: string; words: string }> = {
  idle: { icon: '○', words: 'Idle' },
  waiting: { icon: '…', words: 'Waiting for a unit' },
  working: { icon: '▶', words: 'Working' },
  passed: { icon: '✓', words: 'Passed' },
  pending: { icon: '☁', words: 'Done, cloud queued' },
  failed: { icon: '✗', words: 'Failed' },
  attention: { icon: '!', words: 'Needs attention' },
};

export function bytes(count: number): string {
  if (count >= 1 << 20) return `${(count / (1 << 20)).toFixed(1)} MiB`;
  if (count >= 1 << 10) return `${(count / (1 << 10)).toFixed(0)} KiB`;
  return `${count} B`;
}

export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
}

/** The last part of a port path: /dev/serial/by-id/usb-… is too long for a tile. */
export function shortPort(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A failure as the core words it starts with its place ("port …, unit …, step …: "); the tile shows those already. */
export function withoutPlace(message: string): string {
  return message.replace(/^port .+?, step [\w-]+: /s, '');
}
