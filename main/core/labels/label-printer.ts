import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { StationError } from '../errors.ts';
import { formatDuration } from '../format.ts';
import { parseTcpAddress } from '../ports/tcp-port.ts';

/** Where labels go: a network printer's raw port (9100), or a CUPS queue taking raw ZPL. */
export type PrinterTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'cups'; queue: string };

/**
 * A CUPS queue name: it starts with a letter, digit or underscore, as one
 * starting with "-" would read as an option to an `lp` that parses its
 * arguments with getopt.
 */
export const CUPS_QUEUE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,126}$/;

/**
 * A printer as people write it: "tcp://10.0.0.9:9100" (a raw port) or
 * "cups:zebra1" (a CUPS queue); undefined when it is neither.
 */
export function parsePrinterAddress(text: string): PrinterTarget | undefined {
  const cups = /^cups:(.*)$/i.exec(text.trim());
  if (cups) return CUPS_QUEUE_NAME.test(cups[1]!) ? { kind: 'cups', queue: cups[1]! } : undefined;
  const address = parseTcpAddress(text.trim());
  return address ? { kind: 'tcp', ...address } : undefined;
}

export interface LabelPrinter {
  /** "the printer at 10.0.0.9:9100", "the CUPS queue zebra1": for messages. */
  readonly name: string;
  /** Resolves once the printer (or the spooler) took the whole job; rejects with a LABEL_NOT_PRINTED error saying why. */
  print(zpl: string, signal?: AbortSignal): Promise<void>;
}

/** A job a printer does not take in this long fails (an off or jammed printer never holds a port up longer). */
const DEFAULT_TIMEOUT_MS = 10_000;

export function createLabelPrinter(target: PrinterTarget, options: { timeoutMs?: number } = {}): LabelPrinter {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return target.kind === 'tcp' ? rawTcpPrinter(target.host, target.port, timeoutMs) : cupsPrinter(target.queue, timeoutMs);
}

function notPrinted(name: string, why: string, hint: string): StationError {
  return new StationError('LABEL_NOT_PRINTED', `label not printed: ${name} ${why}`, { hint, retryable: true });
}

/** Raw TCP, as Zebra and most label printers take it on port 9100: connect, send, close. */
function rawTcpPrinter(host: string, port: number, timeoutMs: number): LabelPrinter {
  const name = `the printer at ${host}:${port}`;
  return {
    name,
    print: (zpl, signal) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host, port });
        let settled = false;
        const finish = (error?: StationError) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          socket.destroy();
          if (error) reject(error);
          else resolve();
        };
        const onAbort = () => finish(notPrinted(name, 'was not sent the label: cancelled', 'Print it again from History.'));
        const timer = setTimeout(
          () => finish(notPrinted(name, `did not take the label within ${formatDuration(timeoutMs)}`, 'Check that the printer is on, has labels and is not paused; then print again from History.')),
          timeoutMs,
        );
        signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('error', (error: NodeJS.ErrnoException) =>
          finish(notPrinted(name, `could not be reached (${error.code ?? error.message})`, 'Check that the printer is on and on the network; then print again from History.')),
        );
        socket.once('connect', () => socket.end(zpl, 'utf8', () => finish()));
      }),
  };
}

/** A CUPS queue that passes raw ZPL through: `lp -d QUEUE -o raw`. */
function cupsPrinter(queue: string, timeoutMs: number): LabelPrinter {
  const name = `the CUPS queue ${queue}`;
  return {
    name,
    print: (zpl, signal) =>
      new Promise<void>((resolve, reject) => {
        let stderr = '';
        const child = spawn('lp', ['-d', queue, '-o', 'raw'], { stdio: ['pipe', 'ignore', 'pipe'], signal, timeout: timeoutMs });
        child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-500)));
        child.once('error', (error: NodeJS.ErrnoException) => {
          // The signal stops lp with an AbortError: the print was cancelled, CUPS is fine.
          if (error.name === 'AbortError') return reject(notPrinted(name, 'was not sent the label: cancelled', 'Print it again from History.'));
          reject(notPrinted(name, `could not be used (${error.code === 'ENOENT' ? 'lp is not installed' : error.message})`, 'Install CUPS (lp), or print to the printer\'s raw port (tcp) instead.'));
        });
        child.once('close', (code, killed) => {
          if (code === 0) resolve();
          else if (killed) reject(notPrinted(name, `did not take the label within ${formatDuration(timeoutMs)}`, 'Check the queue with lpstat -p; then print again from History.'));
          else reject(notPrinted(name, `refused the label (lp: ${stderr.trim() || `exit ${code}`})`, 'Check the queue name and that it accepts jobs (lpstat -p); then print again from History.'));
        });
        // lp that refuses the job may exit before it reads the label: the broken pipe is that refusal, told by 'close'.
        child.stdin.on('error', () => undefined);
        child.stdin.end(zpl, 'utf8');
      }),
  };
}
