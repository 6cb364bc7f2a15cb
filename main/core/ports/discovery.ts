import { platform } from 'node:os';
import { SerialPort } from 'serialport';
import { StationError } from '../errors.ts';

export interface DiscoveredPort {
  path: string;
  vendorId?: string;
  productId?: string;
  serialNumber?: string;
  manufacturer?: string;
}

/** USB ids as hex strings ("303a"); productId omitted matches every product of the vendor. */
export interface UsbFilter {
  vendorId: string;
  productId?: string;
}

export type DiscoveryEvent =
  | { type: 'arrived'; port: DiscoveredPort }
  | { type: 'departed'; path: string }
  | { type: 'enumeration-failed'; error: StationError }
  | { type: 'enumeration-restored' };

export interface DiscoveryOptions {
  /** How the OS is asked for ports; SerialPort.list() by default, injectable for tests. */
  list?: () => Promise<DiscoveredPort[]>;
  /** Only ports matching one of these are reported; none means every port. */
  filters?: UsbFilter[];
  intervalMs?: number;
  listTimeoutMs?: number;
  onEvent: (event: DiscoveryEvent) => void;
}

export function matchesFilters(port: DiscoveredPort, filters: UsbFilter[]): boolean {
  if (filters.length === 0) return true;
  const vendor = port.vendorId?.toLowerCase();
  const product = port.productId?.toLowerCase();
  return filters.some((f) => f.vendorId.toLowerCase() === vendor && (f.productId === undefined || f.productId.toLowerCase() === product));
}

/** Says why enumeration failed in words a technician can act on. */
export function describeEnumerationError(error: unknown): StationError {
  const message = error instanceof Error ? error.message : String(error);
  const manual = 'Ports listed by path in the line configuration keep working.';
  if (/udevadm/i.test(message)) {
    return new StationError('ENUMERATION_FAILED', 'cannot list serial ports: udevadm is missing', {
      hint: `Install udev (apt-get install udev) for plug-in detection. ${manual}`,
      retryable: true,
      cause: error,
    });
  }
  if (/EACCES|permission denied/i.test(message)) {
    const fix = platform() === 'linux' ? 'Run "sudo usermod -aG dialout $USER", then log out and back in. ' : '';
    return new StationError('ENUMERATION_FAILED', 'cannot list serial ports: permission denied', { hint: `${fix}${manual}`, retryable: true, cause: error });
  }
  return new StationError('ENUMERATION_FAILED', `cannot list serial ports (${message})`, { hint: manual, retryable: true, cause: error });
}

/**
 * Polls the OS port list and reports arrivals and departures of ports that
 * pass the USB filters. A failing enumeration is reported once (and its
 * recovery once), never thrown: explicitly configured ports do not depend on it.
 */
export class PortDiscovery {
  private readonly options: DiscoveryOptions;
  private readonly known = new Map<string, DiscoveredPort>();
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(options: DiscoveryOptions) {
    this.options = options;
  }

  get ports(): DiscoveredPort[] {
    return [...this.known.values()];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async () => {
      await this.poll();
      if (!this.running) return;
      this.timer = setTimeout(tick, this.options.intervalMs ?? 500);
      this.timer.unref();
    };
    void tick();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** One enumeration; exposed for tests and for "rescan now". */
  async poll(): Promise<void> {
    let listed: DiscoveredPort[];
    try {
      listed = await this.listWithTimeout();
    } catch (error) {
      if (!this.failing) {
        this.failing = true;
        this.options.onEvent({ type: 'enumeration-failed', error: describeEnumerationError(error) });
      }
      return;
    }
    if (this.failing) {
      this.failing = false;
      this.options.onEvent({ type: 'enumeration-restored' });
    }
    const present = new Map(listed.filter((port) => matchesFilters(port, this.options.filters ?? [])).map((port) => [port.path, port]));
    for (const path of [...this.known.keys()]) {
      if (!present.has(path)) {
        this.known.delete(path);
        this.options.onEvent({ type: 'departed', path });
      }
    }
    for (const [path, port] of present) {
      if (!this.known.has(path)) {
        this.known.set(path, port);
        this.options.onEvent({ type: 'arrived', port });
      }
    }
  }

  private listWithTimeout(): Promise<DiscoveredPort[]> {
    const list = this.options.list ?? (() => SerialPort.list());
    const timeoutMs = this.options.listTimeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the port list did not answer within ${timeoutMs} ms`)), timeoutMs);
      list().then(
        (ports) => {
          clearTimeout(timer);
          resolve(ports);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}
