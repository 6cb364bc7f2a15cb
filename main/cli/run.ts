import { lineSlots, loadLineConfig, portPaths, usbPorts } from '../core/config/line-config.ts';
import { throttleProgress } from '../core/engine/event-throttle.ts';
import { hasUnit, type StationEvent, type UnitOutcome } from '../core/engine/events.ts';
import { Station } from '../core/engine/station.ts';
import { createInterface, type Interface } from 'node:readline';
import { ConfigError, describeError } from '../core/errors.ts';
import { defaultDataDir, parseCommand } from './args.ts';
import { drawLive, ProgressBoard } from './progress-board.ts';

const HELP = `Usage: station run --config FILE [--port PATH]... [--operator NAME] [--once] [--json] [--data-dir DIR]

Provisions units on the line's ports.

  --config FILE     the line configuration (JSON)
  --port PATH       a port to use (repeatable); replaces the configuration's list
  --once            one unit per port, then exit (otherwise: the next unit when one
                    is plugged in, until Ctrl-C; USB ids in "ports" are detected)
  --operator NAME   who runs the line: in every unit record and on every label
  --json            one JSON object per line: progress events, and a "unit" object per unit
  --data-dir DIR    journal, firmware cache and key (default ~/.local/share/provisioning-station)

Exit status: 0 every unit passed; 1 a unit failed; 2 bad usage or configuration;
3 none failed, but some units' cloud calls wait in the outbox (they replay by
themselves when the cloud is back; "station outbox list" shows them).

With labels.check in the configuration, each line typed (or scanned by a
keyboard-wedge scanner) on standard input is a scanned label; it goes to the
unit waiting for one ("port:label" names the port when several wait).`;

export async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    'run',
    argv,
    {
      config: { type: 'string' },
      port: { type: 'string', multiple: true },
      operator: { type: 'string' },
      once: { type: 'boolean' },
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as { config?: string; port?: string[]; operator?: string; once?: boolean; json?: boolean; 'data-dir'?: string };
  if (!values.config) {
    console.error(`station run: --config is required\n\n${HELP}`);
    return 2;
  }
  if (values.port?.some((port) => port.trim() === '')) {
    console.error(`station run: --port needs a port, e.g. --port /dev/ttyACM0 (an empty one was given)\n\n${HELP}`);
    return 2;
  }
  const config = await loadLineConfig(values.config);
  const ports = values.port ?? portPaths(config.ports);
  const detects = !values.port && usbPorts(config.ports).length > 0;
  if (ports.length === 0 && !(detects && !values.once)) throw new ConfigError('no ports to use: list them in "ports" or pass --port PATH');

  const station = await Station.open({ config, dataDir: values['data-dir'] ?? defaultDataDir() });
  station.operator = values.operator?.trim() || undefined;
  // Serial scanners' scans: where each went, or why it was refused.
  station.onNotice((notice) => {
    if (notice.type === 'scan') console.error(`station run: ${notice.report.ok ? `label ${notice.report.value} from ${notice.report.scanner} went to ${notice.report.port}` : notice.report.refused}`);
  });
  const scans = config.labels.check ? readScans(station, ports) : undefined;
  // On a terminal: a board drawn in place, fitted to it; else a line per step (--json: JSON lines).
  const live = !values.json && process.stdout.isTTY === true;
  const board = live ? new ProgressBoard(values.port ? ports : lineSlots(config.ports)) : undefined;
  const screen = board ? drawLive(board, process.stdout) : undefined;
  const print = board ? (event: StationEvent) => board.apply(event) : values.json ? printJson : printHuman;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const onEvent = throttleProgress(print);
    // Continuous: each port takes the next unit when one is plugged in, until Ctrl-C.
    const outcomes = values.once ? await station.provisionOnce(ports, onEvent, controller.signal) : await station.runLine(ports, { onEvent, signal: controller.signal });
    screen?.stop();
    if (!values.json) printSummary(outcomes);
    return exitStatus(outcomes);
  } finally {
    scans?.close();
    screen?.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await station.close();
  }
}

/** Lines on standard input are scanned labels (a keyboard-wedge scanner types them and Enter). */
function readScans(station: Station, ports: string[]): Interface {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const scan = line.trim();
    if (!scan) return;
    // "PORT:label" names one of the line's ports; a bare label goes to the one unit waiting for a scan.
    const named = ports.find((port) => scan.startsWith(`${port}:`));
    try {
      const port = named ? station.answerOperator({ port: named, value: scan.slice(named.length + 1) }) : station.answerOperator({ value: scan });
      console.error(`station run: label scanned for ${port}`);
    } catch (error) {
      console.error(`station run: ${describeError(error)}`);
    }
  });
  return lines;
}

/** Exit status 3: nothing failed, but the cloud has not heard of every unit yet. */
export const EXIT_PENDING = 3;

export function exitStatus(outcomes: UnitOutcome[]): number {
  if (outcomes.some((outcome) => outcome.result === 'failed')) return 1;
  return outcomes.some((outcome) => outcome.result === 'pending') ? EXIT_PENDING : 0;
}

/** Absent values print as null, so every unit object carries every field (failedStep, error…). */
function printJson(event: StationEvent): void {
  process.stdout.write(`${JSON.stringify(event, (_key, value: unknown) => (value === undefined ? null : value))}\n`);
}

function printHuman(event: StationEvent): void {
  const who = `[${event.port}${event.serial ? ` ${event.serial}` : ''}]`;
  if (event.type === 'prompt' && event.prompt) console.log(`${who} ${event.prompt.text} (then Enter)`);
  if (event.type === 'step' && event.status !== 'started') {
    const timing = event.durationMs === undefined ? '' : ` (${event.durationMs} ms)`;
    console.log(`${who} ${event.step} ${event.status}${timing}${event.error ? `: ${event.error}` : ''}`);
  } else if (event.type === 'unit' && !hasUnit(event)) {
    console.log(`${who} stopped before a unit answered (nothing recorded)`);
  } else if (event.type === 'unit') {
    console.log(`${who} ${event.result.toUpperCase()}${event.failedStep ? ` at ${event.failedStep}` : ''}`);
  }
}

function printSummary(outcomes: UnitOutcome[]): void {
  const count = (result: UnitOutcome['result']) => outcomes.filter((o) => o.result === result).length;
  const pending = count('pending');
  console.log(`${count('passed')} passed, ${count('failed')} failed${pending ? `, ${pending} passed with cloud calls waiting in the outbox` : ''}`);
}
