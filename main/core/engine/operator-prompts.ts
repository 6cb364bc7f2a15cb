import { randomUUID } from 'node:crypto';
import { CancelledError, StationError } from '../errors.ts';
import { formatDuration } from '../format.ts';

/** What a step may ask the operator: to scan something (a label), or to confirm. */
export type PromptKind = 'scan' | 'confirm';

export interface OperatorPrompt {
  id: string;
  port: string;
  serial: string | undefined;
  kind: PromptKind;
  /** What to do, in words: "Scan the label of unit THERM…". */
  text: string;
  /** When the step stops waiting (epoch ms). */
  until: number;
}

interface Waiting {
  prompt: OperatorPrompt;
  resolve: (value: string) => void;
}

/**
 * The two-way channel between steps and the operator: a step asks on its port
 * and waits (bounded, cancellable) while the other ports carry on; the
 * answer comes back for that port, or, for a scan from a scanner that is not
 * bound to a port, for the one port waiting for a scan. A scan nobody waits
 * for is refused, never applied to some port.
 */
export class OperatorPrompts {
  private readonly waiting = new Map<string, Waiting>();
  /** How a port is named in messages: its slot on the line, for a person reading them. */
  private readonly name: (port: string) => string;

  constructor(name: (port: string) => string = (port) => `port ${port}`) {
    this.name = name;
  }
  private readonly listeners = new Set<(port: string, prompt: OperatorPrompt | undefined) => void>();

  /** Hears every prompt as it opens (with the prompt) and closes (undefined). */
  onChange(listener: (port: string, prompt: OperatorPrompt | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The prompts open now. */
  open(): OperatorPrompt[] {
    return [...this.waiting.values()].map((entry) => entry.prompt);
  }

  /** Asks the operator on one port and resolves with the answer; a TimeoutError-like StationError after `timeoutMs`, CancelledError on abort. */
  ask(request: {
    port: string;
    serial: string | undefined;
    kind: PromptKind;
    text: string;
    timeoutMs: number;
    signal?: AbortSignal;
    /** Told when this prompt opens (with it) and closes (undefined): the step's own events for the tile. */
    announce?: (prompt: OperatorPrompt | undefined) => void;
  }): Promise<string> {
    if (this.waiting.has(request.port)) return Promise.reject(new Error(`port ${request.port} already waits for the operator`));
    if (request.signal?.aborted) return Promise.reject(new CancelledError());
    const prompt: OperatorPrompt = { id: randomUUID(), port: request.port, serial: request.serial, kind: request.kind, text: request.text, until: Date.now() + request.timeoutMs };
    return new Promise<string>((resolve, reject) => {
      const close = () => {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', aborted);
        if (this.waiting.get(request.port)?.prompt.id === prompt.id) this.waiting.delete(request.port);
        this.emit(request.port, undefined);
        request.announce?.(undefined);
      };
      const aborted = () => {
        close();
        reject(new CancelledError());
      };
      const timer = setTimeout(() => {
        close();
        reject(
          new StationError('OPERATOR_TIMEOUT', `no answer to "${request.text}" within ${formatDuration(request.timeoutMs)}`, {
            hint: request.kind === 'scan' ? 'Scan the label when the tile asks for it, then retry the unit.' : 'Answer on the tile when it asks, then retry the unit.',
            retryable: true,
          }),
        );
      }, request.timeoutMs);
      request.signal?.addEventListener('abort', aborted, { once: true });
      this.waiting.set(request.port, {
        prompt,
        resolve: (value) => {
          close();
          resolve(value);
        },
      });
      this.emit(request.port, prompt);
      request.announce?.(prompt);
    });
  }

  /** The answer typed or scanned on a port's tile. */
  answer(port: string, value: string, promptId?: string): void {
    const entry = this.waiting.get(port);
    if (!entry || (promptId !== undefined && entry.prompt.id !== promptId)) {
      throw new StationError('NO_PROMPT', `${this.name(port)} is not waiting for the operator`, { hint: 'Answer when the tile asks; the unit may have moved on or timed out.' });
    }
    entry.resolve(value);
  }

  /** A scan for one port (a scanner bound to its slot): taken only when that port waits for a scan. */
  scanFor(port: string, value: string): void {
    const entry = this.waiting.get(port);
    if (!entry || entry.prompt.kind !== 'scan') {
      throw new StationError('NO_SCAN_WAITING', `a label was scanned for ${this.name(port)}, but no unit there waits for a scan`, { hint: 'Scan the unit\'s label when its tile asks for it.' });
    }
    entry.resolve(value);
  }

  /**
   * A scan that names no port (a keyboard-wedge scanner with no tile focused,
   * a serial scanner bound to none): it goes to the one port waiting for a
   * scan. Returns that port; refused when none, or more than one, waits.
   */
  scan(value: string): string {
    const scans = [...this.waiting.values()].filter((entry) => entry.prompt.kind === 'scan');
    if (scans.length === 0) throw new StationError('NO_SCAN_WAITING', 'a label was scanned, but no unit waits for a scan', { hint: 'Scan a unit\'s label when its tile asks for it.' });
    if (scans.length > 1) {
      throw new StationError('SCAN_AMBIGUOUS', `a label was scanned, but ${scans.length} units wait for a scan (${scans.map((entry) => this.name(entry.prompt.port)).join(', ')})`, {
        hint: 'Click the tile of the unit you are scanning first, then scan.',
      });
    }
    const [entry] = scans;
    entry!.resolve(value);
    return entry!.prompt.port;
  }

  private emit(port: string, prompt: OperatorPrompt | undefined): void {
    for (const listener of this.listeners) listener(port, prompt);
  }
}
