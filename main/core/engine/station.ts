import type { CloudAdapter } from '../cloud/cloud-adapter.ts';
import { createCloudAdapter } from '../cloud/backends.ts';
import { configHash, stationIdOf } from '../config/config-hash.ts';
import { portFor, scannerPorts, slotOf, usbPorts, type LineConfig, type ScannerPort } from '../config/line-config.ts';
import { loadProfile } from '../devices/profile/load-profile.ts';
import type { DeviceProfile } from '../devices/device-profile.ts';
import { capabilitiesOf, createDriver, serialSettingsOf } from '../devices/device-profile.ts';
import { openPort } from '../ports/open-port.ts';
import { ConfigError, StationError, isStationError } from '../errors.ts';
import { DataFolderLock, dataFolder } from '../storage/data-folder.ts';
import { Journal, type AttemptFilter, type AttemptRecord, type OutboxEntry, type UnitRecord } from '../storage/journal.ts';
import { loadOrCreateKeyFile, SecretBox } from '../storage/secret-box.ts';
import { ActiveSerials } from './active-serials.ts';
import { Connectivity, type ConnectivityState } from './connectivity.ts';
import { upgradeToCloudAccounts } from './cloud-account-upgrade.ts';
import { hasUnit, type PipelineStep, type StationEvent, type UnitOutcome } from './events.ts';
import { FirmwareCache } from './firmware-cache.ts';
import { heardSafely } from '../heard-safely.ts';
import { Limiter } from '../limiter.ts';
import { LineStop } from './line-stop.ts';
import { OutboxReplayer } from './outbox-replayer.ts';
import { runUnit } from './pipeline/run-unit.ts';
import { OperatorPrompts } from './operator-prompts.ts';
import { SerialScanners, type ScanReport } from './serial-scanners.ts';
import { createLabelPrinter, type LabelPrinter } from '../labels/label-printer.ts';
import { renderLabel } from '../labels/label-template.ts';
import { planSteps } from './pipeline/step-plan.ts';
import { identifyOnce, waitForNextUnit } from './unit-swap.ts';
import { PortDiscovery } from '../ports/discovery.ts';

export interface StationSetup {
  config: LineConfig;
  /** Journal, firmware cache and key file live here. */
  dataDir: string;
  /** Injected in tests; otherwise made from the configuration. */
  adapter?: CloudAdapter;
  profile?: DeviceProfile;
  /** How ports are opened (injectable for tests). */
  open?: typeof openPort;
  /** How often an offline station probes the cloud and retries the outbox (ms). */
  probeIntervalMs?: number;
  /** Replay the outbox in the background (default true); off for read-only tools. */
  autoReplay?: boolean;
  /** The key that encrypts secrets at rest; the desktop app keeps it with safeStorage. Default: the data folder's key file. */
  secretKey?: Buffer;
}

/**
 * What the station tells screens and tools without being asked: a unit's
 * queued cloud calls went through (or one failed), the outbox changed, the
 * cloud came or went.
 */
export type StationNotice =
  | { type: 'unit-settled'; unit: UnitRecord }
  | { type: 'outbox-changed' }
  | { type: 'cloud'; state: ConnectivityState }
  /** A serial scanner read a label: where it went, or why it was refused. */
  | { type: 'scan'; report: ScanReport };

/** Where the line configuration a station last ran with is kept, for tools that run without --config. */
export const LINE_CONFIG_SETTING = 'line-config';

/**
 * The station engine: a line configuration, a cloud, a journal and a firmware
 * cache, running units on many ports at once. It runs under plain Node (CLI,
 * tests, web dashboard) as well as in Electron's main process.
 */
export class Station {
  readonly config: LineConfig;
  readonly journal: Journal;
  readonly cache: FirmwareCache;
  readonly adapter: CloudAdapter;
  readonly profile: DeviceProfile;
  readonly connectivity: Connectivity;
  readonly replayer: OutboxReplayer;
  private readonly activeSerials = new ActiveSerials();
  /**
   * The unit running on each port: its cancel, so the operator can cancel one port without touching the others,
   * and when it will be done, for a line started meanwhile to wait for (one unit per port).
   */
  private readonly running = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  /** Ports whose line waits for a place (concurrency.ports) to start their next unit: busy too. */
  private readonly queued = new Set<string>();
  /** The unit each port last finished (a cancel does not finish it): a restarted line does not do it again. */
  private readonly finishedOnPort = new Map<string, string>();
  private readonly open: typeof openPort;
  private readonly lock: DataFolderLock;
  private readonly noticeListeners = new Set<(notice: StationNotice) => void>();
  private closed = false;
  /** Aborted as the station closes: lines stop, and units still at work are cancelled and recorded so. */
  private readonly closing = new AbortController();
  /** Where steps ask the operator, and where answers and scans come back. */
  private readonly prompts: OperatorPrompts;
  /** Where labels go, when the line prints them. */
  private readonly printer: LabelPrinter | undefined;
  /** Attempts whose label is being printed again (reprintLabel). */
  private readonly reprinting = new Set<number>();
  /** The line's serial barcode scanners, read from when units first run. */
  private scanners: SerialScanners | undefined;
  /** Who is at the station (signed in, or `station run --operator`): in every unit record and label. */
  operator: string | undefined;
  /** This station's name in every attempt's record: the line's stationId, else the host name. */
  readonly stationId: string;
  /** The line configuration's SHA-256 with its secrets replaced by a marker, in every attempt's record. */
  readonly configHash: string;

  private constructor(
    setup: Required<Omit<StationSetup, 'dataDir' | 'probeIntervalMs' | 'autoReplay' | 'secretKey'>> & {
      journal: Journal;
      cache: FirmwareCache;
      lock: DataFolderLock;
      probeIntervalMs?: number;
      autoReplay: boolean;
    },
  ) {
    this.lock = setup.lock;
    const print = setup.config.labels.print;
    this.printer = print ? createLabelPrinter(print.printer, { timeoutMs: print.timeoutSeconds * 1000 }) : undefined;
    this.config = setup.config;
    this.stationId = stationIdOf(setup.config);
    this.prompts = new OperatorPrompts((port) => `slot ${slotOf(setup.config.ports, port)}`);
    this.configHash = configHash(setup.config);
    this.journal = setup.journal;
    this.cache = setup.cache;
    this.adapter = setup.adapter;
    this.profile = setup.profile;
    this.open = setup.open;
    this.connectivity = new Connectivity({ probe: (signal) => this.adapter.probe({ signal }), probeIntervalMs: setup.probeIntervalMs });
    this.replayer = new OutboxReplayer({
      journal: this.journal,
      adapter: this.adapter,
      connectivity: this.connectivity,
      concurrency: this.config.concurrency.cloudCalls,
      probeIntervalMs: setup.probeIntervalMs,
      onProgress: ({ unitId, settled }) => {
        const unit = settled ? this.journal.unit(unitId) : undefined;
        if (unit) this.notify({ type: 'unit-settled', unit });
        this.notify({ type: 'outbox-changed' });
      },
    });
    // The outbox replays by itself: whenever the cloud is back, and on a steady tick.
    this.connectivity.onChange((online) => {
      this.notify({ type: 'cloud', state: this.connectivity.state });
      // A probe may answer after the station closed: the replayer then does nothing.
      // A failed replay leaves its calls due; the next tick tries again.
      if (online) void this.replayer.drain().catch(() => undefined);
    });
    if (setup.autoReplay) this.replayer.start();
  }

  static async open(setup: StationSetup): Promise<Station> {
    const profile = setup.profile ?? (await loadProfile(setup.config.device.profile));
    const folder = dataFolder(setup.dataDir);
    // One writer per data folder: a second station would provision and replay the same units again.
    const lock = DataFolderLock.acquire(folder);
    let journal: Journal | undefined;
    let adapter: CloudAdapter | undefined;
    try {
      adapter = setup.adapter ?? (await createCloudAdapter(setup.config.cloud));
      const box = new SecretBox(setup.secretKey ?? (await loadOrCreateKeyFile(setup.dataDir)));
      journal = Journal.open(folder.journal, box);
      // Calls a crash left in flight go back to the queue: this process holds the folder, so nobody else is sending them.
      journal.requeueInFlight();
      const cache = new FirmwareCache({ dir: folder.firmwareCache, journal, adapter, maxConcurrentDownloads: setup.config.concurrency.downloads, maxFirmwareBytes: setup.config.maxFirmwareBytes });
      // An older data folder: its records kept by backend become this cloud's, or are dropped (cloud-account-upgrade.ts).
      const records = journal;
      await upgradeToCloudAccounts(journal, adapter, () => records.secretSetting(LINE_CONFIG_SETTING));
      // After the upgrade, so the images of the entries it dropped go too.
      await cache.sweep();
      journal.setSecretSetting(LINE_CONFIG_SETTING, JSON.stringify(setup.config));
      return new Station({
        config: setup.config,
        adapter,
        profile,
        open: setup.open ?? openPort,
        journal,
        cache,
        lock,
        probeIntervalMs: setup.probeIntervalMs,
        autoReplay: setup.autoReplay ?? true,
      });
    } catch (error) {
      journal?.close();
      await adapter?.close();
      lock.release();
      throw error;
    }
  }

  /** The steps this line runs for each unit, from the cloud's declared steps, the driver's capabilities and the configuration. */
  get plan(): PipelineStep[] {
    return planSteps({ cloud: this.adapter.steps, capabilities: capabilitiesOf(this.profile), config: this.config });
  }

  /** Listens to the station's notices (units settled by the outbox, outbox and cloud changes); returns how to stop. */
  onNotice(listener: (notice: StationNotice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  /** Whether the cloud answers: not checked yet, online, or shown offline by a probe. */
  get cloudState(): ConnectivityState {
    return this.connectivity.state;
  }

  /** Every try of units on record, newest first unless asked otherwise (History, exports, the line's figures). */
  history(filter: AttemptFilter = {}): AttemptRecord[] {
    return this.journal.attempts(filter);
  }

  /** Cloud calls waiting in the outbox or in flight. */
  outboxWaiting(): number {
    const counts = this.journal.outboxCounts();
    return counts.pending + counts['in-flight'];
  }

  /** A page of the calls not yet done (waiting, in flight or failed), oldest first: a backlog is read a page at a time. */
  outboxEntries(page: { afterId?: number; limit?: number } = {}): OutboxEntry[] {
    return this.journal.outboxEntries(page);
  }

  /** The operator's "replay now": every waiting call is due at once and the cloud is tried; resolves with how many calls completed. */
  replayOutboxNow(): Promise<number> {
    return this.replayer.replayNow();
  }

  /**
   * One unit on each port, at most `concurrency.ports` at a time; resolves
   * with the outcome of every unit that answered, in port order (a port
   * stopped before any unit answered has no unit: its tile hears of it). When `signal`
   * aborts, the units at work are cancelled, and a port still waiting for its
   * turn starts nothing (there is no unit to record). Like `runLine`, it
   * rejects when a port's work fails outside a unit's record (the journal
   * cannot be written): every other port is cancelled first, so nothing runs
   * on once the run has ended.
   */
  async provisionOnce(ports: string[], onEvent: (event: StationEvent) => void = () => undefined, signal?: AbortSignal): Promise<UnitOutcome[]> {
    this.startScanners();
    const stop = new LineStop(this.untilClosing(signal));
    const limiter = new Limiter(this.config.concurrency.ports);
    const outcomes = await Promise.all(
      ports.map((port) =>
        this.runInTurn(limiter, port, onEvent, stop.signal).catch((error: unknown) => {
          stop.fail(error);
          return undefined;
        }),
      ),
    );
    stop.settle();
    return outcomes.filter((outcome): outcome is UnitOutcome => outcome !== undefined && hasUnit(outcome));
  }

  /**
   * The line at work until `signal` aborts: every port provisions a unit
   * (at most `concurrency.ports` at once), waits for the next one to be
   * plugged in, and goes again. Ports given as
   * USB ids join when a matching device appears. Resolves with every outcome;
   * rejects when a port's work fails outside a unit's record (the journal
   * cannot be written): then the whole line stops, as no unit can be recorded.
   */
  async runLine(ports: string[], options: { onEvent?: (event: StationEvent) => void; signal: AbortSignal; swapPollMs?: number }): Promise<UnitOutcome[]> {
    const outcomes: UnitOutcome[] = [];
    const onEvent = options.onEvent ?? (() => undefined);
    this.startScanners();
    // The line stops when it is told to, or when a port fails in a way no unit record can hold.
    const stop = new LineStop(this.untilClosing(options.signal));
    const signal = stop.signal;
    const workers = new Map<string, Promise<void>>();
    // At most `concurrency.ports` units at once; a port holds a place while it works on a unit, not while it waits for the next.
    const units = new Limiter(this.config.concurrency.ports);
    const work = (port: string) => {
      if (workers.has(port)) return;
      /**
       * A unit started on this port outside the line (a retry, a port started on its own) finishes first; a unit the
       * port finished and still holds is not done again: the line waits for the next one.
       */
      const afterOthers = async () => {
        await this.running.get(port)?.done.catch(() => undefined);
        if (signal.aborted) return;
        const done = this.finishedOnPort.get(port);
        if (done !== undefined && (await identifyOnce(() => this.connect(port)).catch(() => undefined)) === done) {
          await waitForNextUnit(port, done, { identify: () => identifyOnce(() => this.connect(port)), signal, pollMs: options.swapPollMs }).catch(() => undefined);
        }
      };
      const loop = async () => {
        let last: string | undefined;
        // Before the line: a unit at work here, or one done and still plugged in (a line started again).
        await afterOthers();
        while (!signal.aborted) {
          // A retry started while the line waited for this port's next unit (the unit plugged in again and Retry pressed)
          // holds the port: the line lets it finish rather than open the port a second time, then goes on as before it.
          if (this.running.has(port)) {
            await afterOthers();
            continue;
          }
          const outcome = await this.runInTurn(units, port, onEvent, signal);
          if (!outcome) break;
          if (hasUnit(outcome)) outcomes.push(outcome);
          if (signal.aborted) break;
          last = outcome.serial;
          const identify = () => identifyOnce(() => this.connect(port));
          await waitForNextUnit(port, last, { identify, signal, pollMs: options.swapPollMs }).catch(() => undefined);
        }
      };
      const worker = loop()
        .catch((error: unknown) => stop.fail(error))
        .finally(() => workers.delete(port));
      workers.set(port, worker);
    };
    for (const port of ports) work(port);
    const usb = usbPorts(this.config.ports);
    const discovery = usb.length
      ? new PortDiscovery({ filters: usb, onEvent: (event) => (event.type === 'arrived' ? work(event.port.path) : undefined) })
      : undefined;
    discovery?.start();
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    discovery?.stop();
    while (workers.size > 0) await Promise.all([...workers.values()]);
    stop.settle();
    return outcomes;
  }

  /**
   * Retries a failed unit from where it failed: on its own record, with the
   * credentials the cloud already issued (no new activation); device steps and
   * reads run again, as they are safe to repeat.
   */
  async retry(unitId: number, onEvent: (event: StationEvent) => void = () => undefined, signal?: AbortSignal): Promise<UnitOutcome> {
    this.startScanners();
    return this.runOne(this.retryable(unitId).port, onEvent, signal, unitId);
  }

  /** The failed record a retry would run on; throws, before anything starts, when it cannot. */
  retryable(unitId: number): UnitRecord {
    const failed = this.journal.unit(unitId);
    if (!failed || failed.result !== 'failed') {
      throw new StationError('RETRY_NOT_FAILED', `unit record ${unitId} is not a failed unit`, { hint: 'Only failed units can be retried.' });
    }
    this.requireIdle(failed.port);
    return failed;
  }

  /** Whether a unit is at work on this port now, or the line waits for a place to start one there. */
  isBusy(port: string): boolean {
    return this.running.has(port) || this.queued.has(port);
  }

  /** Throws when a unit is at work on the port, or about to be: one unit per port at a time. */
  requireIdle(port: string): void {
    if (this.queued.has(port)) {
      throw new StationError('PORT_BUSY', `port ${port} is waiting for its turn to take a unit (concurrency.ports)`, { hint: 'Wait for it, or stop the line first.' });
    }
    if (this.running.has(port)) throw new StationError('PORT_BUSY', `port ${port} already has a unit at work`, { hint: 'Wait for it, or cancel it first.' });
  }

  /**
   * One unit on `port` once `places` has room; undefined when the line stops
   * before its turn comes (no unit: nothing to record). While it waits the
   * port counts as busy, so a retry cannot start a second unit on it.
   */
  private async runInTurn(places: Limiter, port: string, onEvent: (event: StationEvent) => void, signal: AbortSignal): Promise<UnitOutcome | undefined> {
    let started = false;
    this.queued.add(port);
    try {
      return await places.run(() => {
        started = true;
        this.queued.delete(port);
        return this.runOne(port, onEvent, signal);
      }, signal);
    } catch (error) {
      if (started) throw error;
      return undefined;
    } finally {
      this.queued.delete(port);
    }
  }

  /** Cancels the unit on one port (its record says cancelled, at the step it was in). Returns false if the port was idle. */
  cancel(port: string): boolean {
    const running = this.running.get(port);
    running?.controller.abort();
    return running !== undefined;
  }

  /** Opens the port as the profile's driver kind needs it, and gives the unit that driver. */
  private connect(port: string) {
    return this.open(port, { settings: serialSettingsOf(this.profile) }).then((bytePort) => createDriver(bytePort, this.profile));
  }

  private async runOne(port: string, onEvent: (event: StationEvent) => void, signal?: AbortSignal, retryOf?: number): Promise<UnitOutcome> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    const until = this.untilClosing(signal);
    until.addEventListener('abort', stop, { once: true });
    if (until.aborted) controller.abort();
    // Busy before the pipeline's first step runs; `done` is the pipeline once it has started.
    const entry: { controller: AbortController; done: Promise<unknown> } = { controller, done: Promise.resolve() };
    this.running.set(port, entry);
    const work = this.pipeline(port, onEvent, controller.signal, retryOf);
    entry.done = work;
    try {
      const outcome = await work;
      if (outcome.errorCode !== 'CANCELLED' && outcome.serial !== undefined) this.finishedOnPort.set(port, outcome.serial);
      return outcome;
    } finally {
      until.removeEventListener('abort', stop);
      if (this.running.get(port) === entry) this.running.delete(port);
    }
  }

  private pipeline(port: string, onEvent: (event: StationEvent) => void, signal: AbortSignal, retryOf?: number): Promise<UnitOutcome> {
    return runUnit({
      port,
      connect: () => this.connect(port),
      capabilities: capabilitiesOf(this.profile),
      adapter: this.adapter,
      cache: this.cache,
      journal: this.journal,
      config: this.config,
      activeSerials: this.activeSerials,
      connectivity: this.connectivity,
      emit: heardSafely(onEvent),
      signal,
      retryOf,
      prompts: this.prompts,
      operator: this.operator,
      slot: slotOf(this.config.ports, port),
      stationId: this.stationId,
      configHash: this.configHash,
      printer: this.printer,
    });
  }

  /**
   * Prints an attempt's label again, with the values it had (serial, thing
   * id, date, operator…) on the line's printer and template; its record then
   * says it was printed. Rejects with LABEL_NOT_PRINTED (and keeps why on
   * the record) when the printer does not take it.
   */
  async reprintLabel(attemptId: number, signal?: AbortSignal): Promise<void> {
    const attempt = this.journal.attempt(attemptId);
    if (!attempt) throw new StationError('ATTEMPT_UNKNOWN', `attempt ${attemptId} is not on record`, { hint: 'Pick the attempt in History again; the list may be out of date.' });
    if (!attempt.label) {
      throw new StationError('NO_LABEL', `unit ${attempt.serial || `record ${attempt.unitId}`}, attempt ${attempt.number}: no label was made for it (it did not pass, or the line printed no labels then)`, {
        hint: 'Labels are printed for units that passed on a line with labels.print.',
      });
    }
    const print = this.config.labels.print;
    if (!print || !this.printer) throw new ConfigError('this line prints no labels', { hint: 'Add "labels": {"print": {"printer": …}} to the line configuration.' });
    // A double click, or two screens at once: one label, not two stuck on the same unit.
    if (this.reprinting.has(attemptId)) {
      throw new StationError('LABEL_PRINTING', `unit ${attempt.serial || `record ${attempt.unitId}`}, attempt ${attempt.number}: its label is being printed already`, {
        hint: 'Wait for it; print again only if it does not come out.',
      });
    }
    this.reprinting.add(attemptId);
    try {
      await this.printer.print(renderLabel(print.template, attempt.label), signal);
    } catch (error) {
      if (isStationError(error) && error.code === 'LABEL_NOT_PRINTED') this.journal.setLabelProblem(attemptId, error.describe());
      throw error;
    } finally {
      this.reprinting.delete(attemptId);
    }
    this.journal.setLabelProblem(attemptId, undefined);
  }

  /**
   * The operator's answer on a port's tile (a scanned label…), or a scan that
   * names no port, which goes to the one port waiting for a scan; returns the
   * port it went to.
   */
  answerOperator(answer: { port?: string; value: string; promptId?: string }): string {
    if (answer.port === undefined) return this.prompts.scan(answer.value);
    this.prompts.answer(answer.port, answer.value, answer.promptId);
    return answer.port;
  }

  /** Opens the line's serial scanners (once): each line one sends is a scan for the unit waiting. */
  private startScanners(): void {
    const scanners = scannerPorts(this.config.ports);
    if (this.scanners || scanners.length === 0) return;
    this.scanners = new SerialScanners({
      scanners,
      open: this.open,
      route: (scanner, value) => this.routeScan(scanner, value),
      onScan: (report) => this.notify({ type: 'scan', report }),
    });
    this.scanners.start();
  }

  /** A scanner bound to a slot serves that slot's unit only; an unbound one, the one unit waiting for a scan. */
  private routeScan(scanner: ScannerPort, value: string): string {
    if (scanner.for === undefined) return this.prompts.scan(value);
    const port = portFor(this.config.ports, scanner.for)!;
    this.prompts.scanFor(port, value);
    return port;
  }

  /**
   * Every listener hears every notice, and none can undo what it announces: a notice is sent from inside a probe, a
   * replayed call or a scan, where a listener's throw would read as the cloud gone or the call failed.
   */
  private notify(notice: StationNotice): void {
    for (const listener of this.noticeListeners) heardSafely(listener)(notice);
  }

  /** `signal`, or the station closing, whichever comes first. */
  private untilClosing(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
  }

  /** Closing twice is harmless (a window and a signal may both ask). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Units still at work (a retry, a port started on its own, a line not stopped first) are cancelled, and their
    // records finished, before the journal closes: a one-shot activation under way still stores what the cloud issued.
    this.closing.abort();
    await Promise.allSettled([...this.running.values()].map((unit) => unit.done));
    await this.scanners?.stop();
    this.noticeListeners.clear();
    await this.replayer.stop();
    await this.adapter.close();
    this.journal.close();
    this.lock.release();
  }
}
