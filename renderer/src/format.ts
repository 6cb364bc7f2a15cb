import type { Tile, TileState } from '../../contract/station-contract.ts';

export const STEP_LABELS: Record<string, string> = {
  identify: 'Identify',
  'label-check': 'Label',
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
  'label-print': 'Print',
};

/** A step while it runs, in words a technician reads from a distance. */
export const STEP_DOING: Record<string, string> = {
  identify: 'Reading serial',
  'label-check': 'Scan label',
  activate: 'Activating',
  register: 'Registering',
  rename: 'Naming',
  'target-version': 'Asking version',
  'current-version': 'Checking version',
  download: 'Downloading',
  flash: 'Flashing',
  'write-credentials': 'Writing credentials',
  'verify-credentials': 'Verifying',
  reboot: 'Rebooting',
  confirm: 'Confirming',
  'label-print': 'Printing label',
};

/** Colour is never the only signal: each state has its icon and its word (and, in CSS, its pattern). */
export const STATE_LOOK: Record<TileState, { icon: string; words: string }> = {
  idle: { icon: '○', words: 'Idle' },
  waiting: { icon: '◌', words: 'Waiting' },
  working: { icon: '▶', words: 'Working' },
  passed: { icon: '✓', words: 'Passed' },
  pending: { icon: '☁', words: 'Queued' },
  failed: { icon: '✗', words: 'Failed' },
  attention: { icon: '!', words: 'Attention' },
  cancelled: { icon: '⊘', words: 'Cancelled' },
};

/** The big word on a tile: a person's action where one is needed (replug, set aside), else the state. */
export function stateWord(tile: Tile): string {
  if (tile.state === 'attention') return tile.action === 'replug' ? 'Replug' : tile.action === 'set-aside' ? 'Set aside' : 'Attention';
  return STATE_LOOK[tile.state].words;
}

/** How far the unit is through its plan: steps behind it, and the part of the transfer under way. */
export function unitPercent(tile: Tile): number {
  const total = Math.max(1, tile.steps.length);
  const behind = tile.steps.filter((step) => step.state === 'done' || step.state === 'skipped').length;
  const transfer = tile.progress && tile.progress.total > 0 && tile.progress.step === tile.step ? tile.progress.bytesDone / tile.progress.total : 0;
  return Math.min(100, Math.floor(((behind + transfer) / total) * 100));
}

export function bytes(count: number): string {
  if (count >= 1 << 20) return `${(count / (1 << 20)).toFixed(1)} MiB`;
  if (count >= 1 << 10) return `${(count / (1 << 10)).toFixed(0)} KiB`;
  return `${count} B`;
}

export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
}

/** A clock time, as the line's wall clock shows it. */
export function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function percent(fraction: number | undefined): string {
  return fraction === undefined ? 'no units yet' : `${Math.floor(fraction * 1000) / 10} %`;
}

/** A message's first whole sentence: never cut inside one. */
export function firstSentence(message: string): string {
  return /^.*?[.!?](?=\s+[A-Z]|$)/s.exec(message)?.[0] ?? message;
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
