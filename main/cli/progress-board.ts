import { hasUnit, type PipelineStep, type StationEvent } from '../core/engine/events.ts';

type RowState = 'waiting' | 'working' | 'passed' | 'failed' | 'pending' | 'cancelled';

interface Row {
  port: string;
  slot: string;
  serial: string | undefined;
  step: PipelineStep | undefined;
  state: RowState;
  percent: number | undefined;
  bytesPerSecond: number | undefined;
  secondsLeft: number | undefined;
  error: string | undefined;
  /** Set while the unit waits for the cloud: until when (epoch ms). */
  cloudWaitUntil: number | undefined;
  /** The pinned firmware file is being written: the unit waits for it until then. */
  fileWaitUntil: number | undefined;
  /** Set while the unit waits for the operator: what to do. */
  prompt?: string;
}

const MARK: Record<RowState, string> = { waiting: '·', working: '…', passed: '✔', failed: '✖', pending: '⧗', cancelled: '⊘' };
/** A port's cell in the summary grid: slot, mark, and its state or percentage in a few letters. */
const CELL_WIDTH = 11;
/** Narrower than this, a port's row leaves out its device path and uses a shorter bar. */
const WIDE = 120;

/**
 * The terminal's view of a line, updated from station events. It fits the
 * terminal it is drawn in: a line of running totals and the elapsed time,
 * then a row per port when they fit, else a grid of every port (slot, mark,
 * percentage) with the ports that failed or are at work listed below it as
 * room allows: many ports are summarised, never scrolled.
 */
export class ProgressBoard {
  private readonly rows = new Map<string, Row>();
  private readonly startedAt: number;
  private readonly now: () => number;
  private readonly title: string | undefined;

  constructor(ports: ReadonlyArray<string | { path: string; slot: string }>, options: { now?: () => number; title?: string } = {}) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.title = options.title;
    ports.forEach((entry, index) => (typeof entry === 'string' ? this.add(entry, String(index + 1)) : this.add(entry.path, entry.slot)));
  }

  /** A port found by its USB ids joins the board, named by its device file. */
  private add(port: string, slot: string): Row {
    const row: Row = { port, slot, serial: undefined, step: undefined, state: 'waiting', percent: undefined, bytesPerSecond: undefined, secondsLeft: undefined, error: undefined, cloudWaitUntil: undefined, fileWaitUntil: undefined };
    this.rows.set(port, row);
    return row;
  }

  apply(event: StationEvent): void {
    const row = this.rows.get(event.port) ?? this.add(event.port, event.port.split(/[\\/]/).filter(Boolean).pop() ?? event.port);
    row.serial = event.serial ?? row.serial;
    row.cloudWaitUntil = event.type === 'waiting' && event.for === 'cloud' ? event.until : undefined;
    row.fileWaitUntil = event.type === 'waiting' && event.for === 'firmware-file' ? event.until : undefined;
    if (event.type === 'prompt') {
      row.prompt = event.prompt?.text;
      return;
    }
    if (event.type === 'plan') {
      row.state = 'working';
      row.step = undefined;
      row.percent = undefined;
      row.error = undefined;
    } else if (event.type === 'waiting') {
      row.state = 'working';
      row.step = event.step;
    } else if (event.type === 'step') {
      row.state = 'working';
      row.step = event.step;
      if (event.status === 'started') row.percent = undefined;
    } else if (event.type === 'progress') {
      row.step = event.step;
      row.percent = event.total > 0 ? Math.min(100, (100 * event.bytesDone) / event.total) : undefined;
      row.bytesPerSecond = event.bytesPerSecond;
      row.secondsLeft = event.secondsLeft;
    } else if (!hasUnit(event)) {
      // Stopped before any unit answered (an empty slot): the port waits as it did, nothing to count.
      row.state = 'waiting';
      row.step = undefined;
      row.error = undefined;
      row.percent = undefined;
    } else {
      row.state = event.result === 'failed' && event.errorCode === 'CANCELLED' ? 'cancelled' : event.result;
      row.step = event.failedStep ?? row.step;
      row.error = event.error;
      row.percent = undefined;
    }
  }

  /** One port's row, as the board shows it. */
  line(port: string, width = 100): string | undefined {
    const row = this.rows.get(port);
    return row ? fit(renderRow(row, width < WIDE), width) : undefined;
  }

  /** The board as lines no wider than `width`, at most `height` of them. */
  render(width = 100, height = Number.POSITIVE_INFINITY): string {
    const rows = [...this.rows.values()];
    const lines = [...(this.title ? [this.title] : []), this.totals(rows, width)];
    const room = height - lines.length;
    const compact = width < WIDE;
    if (rows.length <= room) lines.push(...rows.map((row) => renderRow(row, compact)));
    else lines.push(...this.summary(rows, width, room));
    return lines
      .slice(0, height)
      .map((line) => fit(line, width))
      .join('\n');
  }

  /** Running totals and the time since the start; in short marks when the words do not fit. */
  private totals(rows: Row[], width: number): string {
    const count = (state: RowState) => rows.filter((row) => row.state === state).length;
    const done = count('passed') + count('pending') + count('failed') + count('cancelled');
    const counted: Array<[number, string, string]> = [
      [count('passed') + count('pending'), '✔', 'passed'],
      [count('failed'), '✖', 'failed'],
      [count('pending'), '⧗', 'cloud queued'],
      [count('cancelled'), '⊘', 'cancelled'],
      [count('working'), '…', 'working'],
    ];
    const shown = counted.filter(([n], index) => n > 0 || index < 2 || index === 4);
    const long = [`${done}/${rows.length} done`, ...shown.map(([n, mark, words]) => `${mark === '…' ? '' : `${mark} `}${n} ${words}`), `elapsed ${clock(this.now() - this.startedAt)}`].join(' · ');
    if ([...long].length <= width) return long;
    return [`${clock(this.now() - this.startedAt)}`, `${done}/${rows.length} done`, ...shown.map(([n, mark]) => `${mark}${n}`)].join(' ');
  }

  /** Every port as a cell of a grid, then the failed and the working ports in detail, as many as fit. */
  private summary(rows: Row[], width: number, room: number): string[] {
    const perLine = Math.max(1, Math.floor(width / CELL_WIDTH));
    const grid: string[] = [];
    for (let i = 0; i < rows.length; i += perLine) grid.push(rows.slice(i, i + perLine).map(renderCell).join(''));
    if (grid.length >= room) return [...grid.slice(0, Math.max(0, room - 1)), `… ${rows.length} ports: widen the terminal to see them all`];
    const details = [...rows.filter((row) => row.state === 'failed'), ...rows.filter((row) => row.state === 'working')];
    const space = room - grid.length;
    const shown = details.length > space ? details.slice(0, space - 1) : details;
    const more = details.length - shown.length;
    return [...grid, ...shown.map((row) => renderRow(row, width < WIDE)), ...(more > 0 ? [`  … and ${more} more (failed first, then working)`] : [])];
  }
}

function renderCell(row: Row): string {
  const state =
    row.state === 'working' ? (row.percent === undefined ? (row.step ?? 'start').slice(0, 5) : `${Math.floor(row.percent)}%`) : { waiting: 'wait', passed: 'ok', failed: 'FAIL', pending: 'queue', cancelled: 'cncl' }[row.state];
  return `${row.slot.slice(-3).padStart(3)} ${MARK[row.state]} ${state}`.padEnd(CELL_WIDTH);
}

function renderRow(row: Row, compact = false): string {
  const place = compact ? '' : ` ${row.port.padEnd(24).slice(-24)}`;
  const head = `${MARK[row.state]} ${row.slot.slice(-3).padStart(3)}${place} ${(row.serial ?? '').padEnd(compact ? 19 : 20)}`;
  if (row.state === 'passed') return `${head} PASSED`;
  if (row.state === 'pending') return `${head} PASSED, cloud calls waiting in the outbox`;
  if (row.state === 'failed') return `${head} FAILED at ${row.step}: ${row.error ?? ''}`;
  if (row.state === 'cancelled') return `${head} cancelled at ${row.step}`;
  if (row.state === 'waiting') return `${head} waiting`;
  const step = (row.step ?? '').padEnd(compact ? 6 : 18);
  if (row.prompt !== undefined) return `${head} ${step} ${row.prompt}`;
  if (row.cloudWaitUntil !== undefined) return `${head} ${step} waiting for the cloud (up to ${secondsUntil(row.cloudWaitUntil)} s more)`;
  if (row.fileWaitUntil !== undefined) return `${head} ${step} waiting for the firmware file to stand still (up to ${secondsUntil(row.fileWaitUntil)} s more)`;
  if (row.percent === undefined) return `${head} ${step}`;
  const cells = compact ? 10 : 20;
  const filled = Math.round((row.percent / 100) * cells);
  const rate = row.bytesPerSecond ? ` ${formatRate(row.bytesPerSecond)}` : '';
  const left = row.secondsLeft !== undefined ? ` ${Math.ceil(row.secondsLeft)} s left` : '';
  return `${head} ${step} [${'#'.repeat(filled)}${'.'.repeat(cells - filled)}] ${row.percent.toFixed(0).padStart(3)}%${rate}${left}`;
}

function secondsUntil(until: number): number {
  return Math.max(0, Math.ceil((until - Date.now()) / 1000));
}

/** A line cut to the terminal's width (by characters: the board's marks are one column each). */
function fit(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

function clock(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(seconds / 60) % 60).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  return seconds >= 3600 ? `${Math.floor(seconds / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond >= 1024 * 1024 ? `${(bytesPerSecond / 1024 / 1024).toFixed(1)} MB/s` : `${(bytesPerSecond / 1024).toFixed(0)} KB/s`;
}

/**
 * Draws a board in place on a terminal, ten times a second: from the top of
 * the screen, as tall and as wide as the terminal is now (it may be resized).
 * `stop` draws the last picture and leaves the cursor below it.
 */
export function drawLive(board: ProgressBoard, out: NodeJS.WriteStream, reserveLines = 3): { stop(): void } {
  let stopped = false;
  const draw = () => {
    // Room is kept below the board for the closing summary, so nothing scrolls off the top.
    const text = board.render(out.columns ?? 80, Math.max(3, (out.rows ?? 24) - reserveLines));
    out.write(`\x1b[H${text.split('\n').map((line) => `${line}\x1b[K`).join('\n')}\n\x1b[J`);
  };
  out.write('\x1b[H\x1b[2J');
  draw();
  const timer = setInterval(draw, 100);
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
    },
  };
}
