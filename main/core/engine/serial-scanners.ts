import type { ScannerPort } from '../config/line-config.ts';
import { describeError, isStationError } from '../errors.ts';
import { DEFAULT_SERIAL_SETTINGS, type BytePort } from '../ports/byte-port.ts';
import type { openPort } from '../ports/open-port.ts';
import { PortReader } from '../ports/port-reader.ts';
import { sleep } from '../sleep.ts';

/** What became of one scan from a serial scanner: the port it went to, or why it was refused. */
export type ScanReport = { scanner: string; value: string } & ({ ok: true; port: string } | { ok: false; refused: string });

export interface SerialScannersOptions {
  scanners: readonly ScannerPort[];
  open: typeof openPort;
  /** Hands a scan to the unit waiting for it (the port `for` names, or the one waiting); returns that port, throws when none may take it. */
  route: (scanner: ScannerPort, value: string) => string;
  onScan: (report: ScanReport) => void;
  /** A scanner that cannot be opened (not plugged in yet, unplugged) is tried again this often. */
  retryMs?: number;
}

/** Longest scan taken: a QR code holds at most 4296 characters. */
const MAX_SCAN = 4096;
/** A read that hears nothing gives up this often, so every wait is bounded; the scanner is simply read again. */
const READ_WINDOW_MS = 60_000;

/**
 * Serial barcode scanners (USB CDC or RS-232): the station opens each one
 * and every line it sends is a scan, handed to the unit waiting for it, the
 * same way as a keyboard-wedge scan on the screen. A scanner that is
 * missing or unplugged is opened again when it is back.
 */
export class SerialScanners {
  private readonly options: SerialScannersOptions;
  private readonly stopping = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly open = new Set<BytePort>();

  constructor(options: SerialScannersOptions) {
    this.options = options;
  }

  start(): void {
    for (const scanner of this.options.scanners) this.loops.push(this.keepReading(scanner));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([...this.open].map((port) => port.close()));
    await Promise.all(this.loops);
  }

  private async keepReading(scanner: ScannerPort): Promise<void> {
    const signal = this.stopping.signal;
    let lastProblem: string | undefined;
    while (!signal.aborted) {
      let port: BytePort | undefined;
      try {
        port = await this.options.open(scanner.path, { settings: { ...DEFAULT_SERIAL_SETTINGS, baudRate: scanner.baudRate } });
        lastProblem = undefined;
        this.open.add(port);
        await this.readScans(scanner, port, signal);
      } catch (error) {
        // Said once per change, not every retry: a scanner not plugged in is no news every two seconds.
        const problem = `the scanner on ${scanner.path} cannot be used: ${describeError(error)}`;
        if (!signal.aborted && problem !== lastProblem) this.options.onScan({ scanner: scanner.path, value: '', ok: false, refused: problem });
        lastProblem = problem;
      } finally {
        if (port) {
          this.open.delete(port);
          await port.close();
        }
      }
      await sleep(this.options.retryMs ?? 2000, signal).catch(() => undefined);
    }
  }

  /** Reads scans until the scanner goes away (throws) or the station stops. */
  private async readScans(scanner: ScannerPort, port: BytePort, signal: AbortSignal): Promise<void> {
    const reader = new PortReader(port);
    try {
      while (!signal.aborted) {
        let value: string;
        try {
          value = (await reader.readLine({ timeoutMs: READ_WINDOW_MS, maxLength: MAX_SCAN, signal })).trim();
        } catch (error) {
          if (isStationError(error) && error.code === 'TIMEOUT') continue;
          // Not text, or too long: that scan is refused, the scanner is read on.
          if (isStationError(error) && error.code === 'PROTOCOL') {
            this.options.onScan({ scanner: scanner.path, value: '', ok: false, refused: `a scan from ${scanner.path} was not taken: ${describeError(error)}` });
            continue;
          }
          if (signal.aborted) return;
          throw error;
        }
        if (value === '') continue;
        this.hand(scanner, value);
      }
    } finally {
      reader.dispose();
    }
  }

  private hand(scanner: ScannerPort, value: string): void {
    try {
      const port = this.options.route(scanner, value);
      this.options.onScan({ scanner: scanner.path, value, ok: true, port });
    } catch (error) {
      this.options.onScan({ scanner: scanner.path, value, ok: false, refused: describeError(error) });
    }
  }
}
