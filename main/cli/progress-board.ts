import type { PipelineStep, StationEvent } from '../core/engine/events.ts';

interface Row {
  port: string;
  serial: string | undefined;
  step: PipelineStep | undefined;
  state: 'waiting' | 'working' | 'passed' | 'failed' | 'pending';
  percent: number | undefined;
  bytesPerSecond: number | undefined;
  secondsLeft: number | undefined;
  error: string | undefined;
  /** Set while the unit waits for the cloud: until when (epoch ms). */
  cloudWaitUntil: number | undefined;
  /** Set while the unit waits for the operator: what to do. */
  prompt?: string;
}

/** The terminal's view of a line: one row per port, updated from station events. */
export class ProgressBoard {
  private readonly rows = new Map<string, Row>();

  constructor(ports: string[]) {
    for (const port of ports) this.rows.set(port, { port, serial: undefined, step: undefined, state: 'waiting', percent: undefined, bytesPerSecond: undefined, secondsLeft: undefined, error: undefined, cloudWaitUntil: undefined });
  }

  apply(event: StationEvent): void {
    const row = this.rows.get(event.port);
    if (!row) return;
    row.serial = event.serial ?? row.serial;
    row.cloudWaitUntil = event.type === 'waiting' ? event.until : undefined;
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
    } else {
      row.state = event.result;
      row.step = event.failedStep ?? row.step;
      row.error = event.error;
      row.percent = undefined;
    }
  }

  /** The board as text, one line per port, no wider than `width`. */
  render(width = 100): string {
    return [...this.rows.values()].map((row) => renderRow(row).slice(0, width)).join('\n');
  }
}

const MARK: Record<Row['state'], string> = { waiting: '·', working: '…', passed: '✔', failed: '✖', pending: '⧗' };

function renderRow(row: Row): string {
  const head = `${MARK[row.state]} ${row.port.padEnd(24).slice(-24)} ${(row.serial ?? '').padEnd(20)}`;
  if (row.state === 'passed') return `${head} PASSED`;
  if (row.state === 'pending') return `${head} PASSED, cloud calls waiting in the outbox`;
  if (row.state === 'failed') return `${head} FAILED at ${row.step}: ${row.error ?? ''}`;
  if (row.state === 'waiting') return `${head} waiting`;
  const step = (row.step ?? '').padEnd(18);
  if (row.prompt !== undefined) return `${head} ${step} ${row.prompt}`;
  if (row.cloudWaitUntil !== undefined) return `${head} ${step} waiting for the cloud (up to ${Math.max(0, Math.ceil((row.cloudWaitUntil - Date.now()) / 1000))} s more)`;
  if (row.percent === undefined) return `${head} ${step}`;
  const filled = Math.round(row.percent / 5);
  const rate = row.bytesPerSecond ? ` ${formatRate(row.bytesPerSecond)}` : '';
  const left = row.secondsLeft !== undefined ? ` ${Math.ceil(row.secondsLeft)} s left` : '';
  return `${head} ${step} [${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${row.percent.toFixed(0).padStart(3)}%${rate}${left}`;
}

export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond >= 1024 * 1024 ? `${(bytesPerSecond / 1024 / 1024).toFixed(1)} MB/s` : `${(bytesPerSecond / 1024).toFixed(0)} KB/s`;
}
