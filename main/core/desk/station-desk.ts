import type { FieldProblem, FirmwareChunk, FirmwareUploadStart, Header, HistoryQuery, HistoryRow, PortList, Result, SessionView, SettingsInput, SettingsView, SignedIn, Snapshot, Update } from '../../../contract/station-contract.ts';
import { HEADER_NOTE_MAX, PORT_LIST_PROBLEM_MAX } from '../../../contract/station-contract.ts';
import type { LabelsInput } from '../config/labels-config.ts';
import { lineSlots, portPaths, type LineConfig } from '../config/line-config.ts';
import type { DeviceProfile } from '../devices/device-profile.ts';
import type { StationEvent } from '../engine/events.ts';
import type { ScanReport } from '../engine/serial-scanners.ts';
import { Station, type StationNotice } from '../engine/station.ts';
import { ConfigError, StationError, describeError } from '../errors.ts';
import { labelTemplateProblems, renderLabel, sampleLabelValues } from '../labels/label-template.ts';
import { PortDiscovery, type DiscoveredPort } from '../ports/discovery.ts';
import { openPort } from '../ports/open-port.ts';
import { startDemoLine, type DemoLine } from '../simulator/demo-line.ts';
import { dataFolder } from '../storage/data-folder.ts';
import { exportableAttempt, historyCsv, labelState } from '../storage/history-export.ts';
import type { AttemptFilter, AttemptRecord } from '../storage/journal.ts';
import { SecretBox } from '../storage/secret-box.ts';
import { builtInProfileText, importProfileText, readStoredSettings, settingsProfile, settingsView, storeInput, toLineConfig, type LineSettings, type SettingsStore, type StoredSettings } from './desk-settings.ts';
import { FirmwareUploads } from './firmware-uploads.ts';
import { lineFigures, lineRate } from './line-figures.ts';
import { LineView } from './line-view.ts';
import { OperatorAccess, type ScreenSession } from './operator-access.ts';
import { atMostProblems, fieldProblem, SettingsRefused } from './settings-problems.ts';
import { failureText, optionalFailureText } from './screen-text.ts';
import { withoutUrlCredentials } from '../cloud/http.ts';
import { loadStationPolicy, policedOpen, type StationPolicy } from './station-policy.ts';

export interface DeskOptions {
  /** Journal, firmware cache; the demo line keeps its own journal in a subfolder. */
  dataDir: string;
  settings: SettingsStore;
  /** Encrypts secrets at rest: the key file for `station serve`, safeStorage's key in the app. */
  secretKey: Buffer;
  /** A line configuration file given on the command line: it wins over saved settings, which cannot then be edited. */
  fixedConfig?: { config: LineConfig; source: string };
  /** What a screen may name (tcp:// ports, ptys, the firmware folder); default: <dataDir>/station-policy.json, or the defaults without it. */
  policy?: StationPolicy;
  listPorts?: () => Promise<DiscoveredPort[]>;
  open?: typeof openPort;
  /** How many simulated units the demo line has (default 4). */
  demoPorts?: number;
  /** Label check and printing on the demo line (`station serve --demo --label-check --label-printer …`). */
  demoLabels?: LabelsInput;
  /** Screens get at most one update per port per interval (ms). */
  publishIntervalMs?: number;
  now?: () => number;
}

const OK = { ok: true } as const;

/**
 * What a screen drives: the station, its line, its settings and the view of
 * both. Transport-neutral; Electron's IPC and the WebSocket server both call
 * it through `dispatch`, and both get the same coalesced updates.
 */
export class StationDesk {
  private readonly options: DeskOptions;
  private readonly box: SecretBox;
  private readonly policy: StationPolicy;
  private readonly uploads: FirmwareUploads;
  private readonly listeners = new Set<(update: Update) => void>();
  private view: LineView;
  private station: Station | undefined;
  private stored: StoredSettings;
  private profile: DeviceProfile;
  private demo: DemoLine | undefined;
  private line: { controller: AbortController; done: Promise<unknown> } | undefined;
  private problem: string | undefined;
  private readonly dirtyPorts = new Set<string>();
  private headerDirty = false;
  private readonly publishTimer: NodeJS.Timeout;
  private readonly headerTimer: NodeJS.Timeout;
  private lastHeader = '';
  /** Cloud calls waiting, as last counted (when the outbox changed, not on every publish). */
  private outboxWaiting = 0;
  /** One thing at a time changes the station (open, demo, settings, close). */
  private change: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  /** The shift: since this desk started. Its figures survive a line reopened with new settings. */
  private readonly shiftStartedAt: number;
  private lineStartedAt: number | undefined;
  /** The shift's attempts, oldest first, as last read from the journal (when a unit finished or settled). */
  private attempts: AttemptRecord[] = [];
  /** Where the running line's configuration came from, for Settings to name. */
  private configSource: string | undefined;
  /** Who runs the line (signed in) and who may change it (the engineer PIN). */
  private readonly access: OperatorAccess;
  /** The last scan a serial scanner read: where it went or why it was refused, for every screen to show. */
  private lastScan: Header['lastScan'];

  constructor(options: DeskOptions) {
    this.options = options;
    this.box = new SecretBox(options.secretKey);
    this.access = new OperatorAccess({ journalPath: dataFolder(options.dataDir).journal, box: this.box, now: options.now });
    // The rules live here, not in a transport: the app's window is held to them as a browser is.
    this.policy = options.policy ?? loadStationPolicy(options.dataDir);
    this.uploads = new FirmwareUploads(this.policy);
    this.now = options.now ?? Date.now;
    this.shiftStartedAt = this.now();
    this.view = new LineView(options.now);
    this.stored = readStoredSettings(options.settings);
    this.profile = settingsProfile(this.stored);
    this.publishTimer = setInterval(() => this.publish(), options.publishIntervalMs ?? 100);
    // Units per hour and the like move with time alone: the header is compared once a second.
    this.headerTimer = setInterval(() => this.refreshHeader(), 1000);
    // The desk's ticks alone never keep a process alive; its servers and ports do.
    this.publishTimer.unref();
    this.headerTimer.unref();
  }

  /** Opens the configured line, if there is one, and starts it when the settings say so. */
  async init(): Promise<void> {
    const config = this.options.fixedConfig?.config ?? (this.stored.line ? this.tryConfig(this.stored.line) : undefined);
    // A line that cannot open (cloud unreachable, bad key) is shown in the header, not thrown: the screen must still come up.
    if (config) await this.serially(() => this.openStation(config, this.profile, this.options.open, this.options.dataDir)).catch(() => undefined);
  }

  subscribe(listener: (update: Update) => void): () => void {
    this.listeners.add(listener);
    listener({ type: 'snapshot', snapshot: this.snapshot() });
    return () => this.listeners.delete(listener);
  }

  snapshot(): Snapshot {
    return { header: this.header(), tiles: this.view.allTiles() };
  }

  async listPorts(): Promise<PortList> {
    const ports: DiscoveredPort[] = [];
    let problem: string | undefined;
    await new PortDiscovery({
      list: this.options.listPorts,
      onEvent: (event) => {
        if (event.type === 'arrived') ports.push(event.port);
        if (event.type === 'enumeration-failed') problem = failureText(event.error.describe(), PORT_LIST_PROBLEM_MAX);
      },
    }).poll();
    return problem === undefined ? { ports } : { ports, problem };
  }

  async startLine(): Promise<Result<'startLine'>> {
    const station = this.requireStation();
    if (this.line) return OK;
    const controller = new AbortController();
    const line = {
      controller,
      done: station.runLine(portPaths(station.config.ports), { onEvent: (event) => this.onEvent(event), signal: controller.signal }).catch((error: unknown) => {
        // The line stopped by itself (the journal cannot be written): the header says why, and Start starts it again.
        this.fail(error);
        if (this.line !== line) return;
        this.line = undefined;
        this.view.setIdleState('idle');
        this.touchAll();
      }),
    };
    this.line = line;
    this.lineStartedAt = this.now();
    this.view.setIdleState('waiting');
    this.touchAll();
    return OK;
  }

  async stopLine(): Promise<Result<'stopLine'>> {
    const line = this.line;
    if (!line) return OK;
    line.controller.abort();
    await line.done;
    this.line = undefined;
    this.view.setIdleState('idle');
    this.touchAll();
    return OK;
  }

  async startPort(port: string): Promise<Result<'startPort'>> {
    const station = this.requireStation();
    this.requirePort(port);
    if (this.line) throw new StationError('LINE_RUNNING', `port ${port}: the line is running, so units start when they are plugged in`, { hint: 'Stop the line to start ports one by one.' });
    station.requireIdle(port);
    void station.provisionOnce([port], (event) => this.onEvent(event)).catch((error: unknown) => this.fail(error));
    return OK;
  }

  async cancelPort(port: string): Promise<Result<'cancelPort'>> {
    this.requirePort(port);
    const station = this.requireStation();
    if (station.cancel(port)) return OK;
    if (station.isBusy(port)) {
      throw new StationError('PORT_WAITING', `port ${port} is waiting for its turn to take a unit (concurrency.ports): there is no unit at work to cancel yet`, {
        hint: 'It starts once a port at work finishes; stop the line to keep it from starting.',
      });
    }
    throw new StationError('PORT_IDLE', `port ${port} has no unit at work to cancel`);
  }

  async retryUnit(unitId: number): Promise<Result<'retryUnit'>> {
    const station = this.requireStation();
    station.retryable(unitId);
    void station.retry(unitId, (event) => this.onEvent(event)).catch((error: unknown) => this.fail(error));
    return OK;
  }

  async answerOperator(answer: { port?: string; promptId?: string; value: string }): Promise<Result<'answerOperator'>> {
    return { port: this.requireStation().answerOperator(answer) };
  }

  /** An attempt's label printed again; the tile that said it was not printed stops saying so. */
  async reprintLabel(attemptId: number): Promise<Result<'reprintLabel'>> {
    await this.requireStation().reprintLabel(attemptId);
    const port = this.view.labelPrinted(attemptId);
    if (port) this.dirtyPorts.add(port);
    return OK;
  }

  /** Whether operator mode is on: an engineer PIN is set, so calls that change the line need a screen unlocked with it. */
  engineerPinSet(): boolean {
    return this.access.pinSet();
  }

  /** Whether `session` is unlocked with the engineer PIN now (an unlock left unused locks itself). */
  engineerUnlocked(session: ScreenSession): boolean {
    return this.access.engineerUnlocked(session);
  }

  /** A call that changes the line was let through on `session`'s unlock: it runs on from now. */
  engineerActed(session: ScreenSession): void {
    this.access.engineerActed(session);
  }

  async session(session: ScreenSession): Promise<SessionView> {
    return this.access.view(session);
  }

  /** An operator signs in at the station: named on every screen, in every attempt's record and on every label from now on. */
  async signIn(who: SignedIn, session: ScreenSession): Promise<SessionView> {
    this.access.signedIn = who;
    if (this.station) this.station.operator = who.name;
    this.headerDirty = true;
    return this.access.view(session);
  }

  /** The operator signs out; the screen they used locks too. */
  async signOut(session: ScreenSession): Promise<SessionView> {
    this.access.signedIn = undefined;
    if (this.station) this.station.operator = undefined;
    session.engineer = false;
    this.headerDirty = true;
    return this.access.view(session);
  }

  async unlockEngineer({ pin }: { pin: string }, session: ScreenSession): Promise<SessionView> {
    return this.access.unlock(session, pin);
  }

  async lockEngineer(session: ScreenSession): Promise<SessionView> {
    session.engineer = false;
    return this.access.view(session);
  }

  async setEngineerPin({ pin }: { pin: string }, session: ScreenSession): Promise<SessionView> {
    const view = await this.access.setPin(session, pin);
    this.headerDirty = true;
    return view;
  }

  async replayOutbox(): Promise<Result<'replayOutbox'>> {
    void this.requireStation().replayOutboxNow().catch((error: unknown) => this.fail(error));
    return OK;
  }

  /** Every try of units, newest first, filtered as History asks. */
  async history(query: HistoryQuery): Promise<HistoryRow[]> {
    return (this.station?.history(attemptFilter(query, query.limit ?? 200)) ?? []).map(historyRow);
  }

  async exportCsv(query: Omit<HistoryQuery, 'limit'>): Promise<string> {
    return historyCsv(this.station?.history(attemptFilter(query, 100_000)) ?? []);
  }

  async exportJson(query: Omit<HistoryQuery, 'limit'>): Promise<string> {
    return `${JSON.stringify((this.station?.history(attemptFilter(query, 100_000)) ?? []).map(exportableAttempt), null, 2)}\n`;
  }

  async getSettings(): Promise<SettingsView> {
    return this.settingsView(this.stored.line);
  }

  /** The station's own checks on settings a screen is about to save, each problem on its field; nothing is written. */
  async checkSettings(input: SettingsInput): Promise<FieldProblem[]> {
    const problems: FieldProblem[] = [];
    for (const check of [() => storeInput(input, this.stored.line, this.box, this.policy), () => this.refuseEmptyRunningLine(portCount(input))]) {
      try {
        check();
      } catch (error) {
        if (!(error instanceof SettingsRefused)) throw error;
        problems.push(...error.problems);
      }
    }
    return atMostProblems(problems);
  }

  async saveSettings(input: SettingsInput): Promise<SettingsView> {
    this.refuseWhenFixed();
    return this.serially(async () => {
      this.refuseEmptyRunningLine(portCount(input));
      const line = storeInput(input, this.stored.line, this.box, this.policy);
      this.write({ ...this.stored, line });
      await this.openStation(toLineConfig(line, this.box, this.policy), this.profile, this.options.open, this.options.dataDir);
      return this.settingsView(line);
    });
  }

  /** A template filled with the sample values, by the same code that prints labels: what Settings previews. */
  async previewLabel(template: string): Promise<Result<'previewLabel'>> {
    const problems = labelTemplateProblems(template);
    return problems.length > 0 ? { zpl: '', problems } : { zpl: renderLabel(template, sampleLabelValues()), problems: [] };
  }

  /** A profile built into the station (reference, reference-window…), by name: the screen needs no copy of it. */
  async useBuiltInProfile(name: string): Promise<SettingsView> {
    return this.importProfile(builtInProfileText(name));
  }

  async importProfile(text: string): Promise<SettingsView> {
    this.refuseWhenFixed();
    return this.serially(async () => {
      const imported = importProfileText(text);
      this.write({ ...this.stored, profile: imported.text });
      this.profile = imported.profile;
      // A line already set up reopens with the new profile (not the demo line, whose units speak the reference protocol).
      if (this.stored.line && !this.demo) await this.openStation(toLineConfig(this.stored.line, this.box, this.policy), this.profile, this.options.open, this.options.dataDir);
      return this.settingsView(this.stored.line);
    });
  }

  /** A firmware file from the screen, into the firmware folder: announce it, then send it in chunks. */
  async startFirmwareUpload(request: FirmwareUploadStart): Promise<Result<'startFirmwareUpload'>> {
    this.refuseWhenFixed();
    return this.uploads.start(request);
  }

  async sendFirmwareChunk(chunk: FirmwareChunk): Promise<Result<'sendFirmwareChunk'>> {
    return this.uploads.chunk(chunk);
  }

  /**
   * The demo line: a local cloud emulator and simulated units, one of which
   * fails once so a retry shows. It replaces the line until a restart, so a
   * line given with --config is never replaced, and a configured line only
   * from a screen that may change the settings.
   */
  async startDemo(session?: ScreenSession): Promise<Result<'startDemo'>> {
    this.refuseWhenFixed();
    if (this.station && !this.demo && session && !session.mayConfigure) {
      throw new ConfigError('the demo line would replace the configured line', { hint: session.refusal ?? 'Change the line from a screen that may change the settings.' });
    }
    await this.serially(async () => {
      const count = this.options.demoPorts ?? 4;
      const demo = await startDemoLine({ ports: count, flakyUnits: [Math.min(2, count - 1)], ...(this.options.demoLabels ? { labels: this.options.demoLabels } : {}) });
      try {
        await this.openStation(demo.config, demo.profile, demo.open, dataFolder(this.options.dataDir).demo, demo);
      } catch (error) {
        await demo.stop();
        throw error;
      }
    });
    return this.startLine();
  }

  /** A clean quit: units at work get `graceMs` to finish, the rest are cancelled (their records say so); the journal is closed. */
  async close(graceMs = 30_000): Promise<void> {
    clearInterval(this.publishTimer);
    clearInterval(this.headerTimer);
    await this.uploads.close();
    await this.serially(async () => {
      const deadline = Date.now() + graceMs;
      while (this.station && this.view.allTiles().some((tile) => this.station!.isBusy(tile.port)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await this.closeStation();
    });
    this.access.close();
    this.listeners.clear();
  }

  private async openStation(config: LineConfig, profile: DeviceProfile, open: typeof openPort | undefined, dataDir: string, demo?: DemoLine): Promise<void> {
    await this.closeStation();
    this.problem = undefined;
    try {
      // A line from a screen is held to the station policy at every open of a port, not only when its settings were saved.
      const screenLine = !demo && !this.options.fixedConfig;
      const opener = screenLine ? policedOpen(open ?? openPort, this.policy) : open;
      this.station = await Station.open({ config, dataDir, profile, open: opener, secretKey: this.options.secretKey });
    } catch (error) {
      this.problem = describeError(error);
      this.headerDirty = true;
      throw error;
    }
    this.demo = demo;
    this.station.operator = this.access.signedIn?.name;
    this.configSource = demo ? 'the demo line' : this.options.fixedConfig?.source;
    this.outboxWaiting = this.station.outboxWaiting();
    this.station.onNotice((notice) => this.onNotice(notice));
    this.view = new LineView(this.options.now);
    this.view.setPorts(lineSlots(config.ports), 'idle', this.station.plan);
    this.lineStartedAt = undefined;
    this.readAttempts();
    // One probe, so the header soon says whether the cloud answers instead of "not checked yet".
    void this.station.connectivity.confirm();
    this.publishAll();
    if (config.autoStart) await this.startLine();
  }

  private async closeStation(): Promise<void> {
    await this.stopLine();
    await this.station?.close();
    this.station = undefined;
    await this.demo?.stop();
    this.demo = undefined;
  }

  private onEvent(event: StationEvent): void {
    this.dirtyPorts.add(this.view.apply(event));
    // The line's progress moves with every step.
    if (event.type === 'step' || event.type === 'plan') this.headerDirty = true;
    if (event.type !== 'unit') return;
    // A unit that passed offline left calls in the outbox.
    if (event.result === 'pending') this.outboxWaiting = this.station?.outboxWaiting() ?? 0;
    this.readAttempts();
    this.headerDirty = true;
  }

  /** The shift's attempts from the journal: the figures count what is recorded, not what the screen saw. */
  private readAttempts(): void {
    this.attempts = this.station?.history({ from: this.shiftStartedAt, order: 'oldest', limit: 1_000_000 }) ?? [];
  }

  /** What the station announces: a unit's queued calls settled, the outbox or the cloud changed. */
  private onNotice(notice: StationNotice): void {
    if (notice.type === 'outbox-changed') this.outboxWaiting = this.station?.outboxWaiting() ?? 0;
    if (notice.type === 'scan') this.lastScan = { ok: notice.report.ok, message: failureText(scanMessage(notice.report, this.view), HEADER_NOTE_MAX), at: this.now() };
    if (notice.type === 'unit-settled' && notice.unit.result !== 'in-progress') {
      const port = this.view.settleRecent(notice.unit.id, notice.unit.result);
      if (port) this.dirtyPorts.add(port);
      this.readAttempts();
    }
    this.headerDirty = true;
  }

  private header(): Header {
    const station = this.station;
    const now = this.now();
    return {
      configured: station !== undefined,
      ...(this.access.signedIn ? { operator: this.access.signedIn } : {}),
      engineerPinSet: this.pinSetOrAssumed(),
      demo: this.demo !== undefined,
      ...(this.demo?.memoryFallbackReason ? { demoInMemory: failureText(this.demo.memoryFallbackReason, HEADER_NOTE_MAX) } : {}),
      lineRunning: this.line !== undefined,
      ...(this.lineStartedAt === undefined ? {} : { lineStartedAt: this.lineStartedAt }),
      // 'unknown' until the cloud has answered (or been shown out of reach): never "online" on faith.
      cloud: station ? station.cloudState : 'unknown',
      outboxPending: station ? this.outboxWaiting : 0,
      shift: lineFigures(this.attempts, this.shiftStartedAt),
      ...(this.lineStartedAt === undefined ? {} : { line: lineFigures(this.attempts, this.lineStartedAt) }),
      rate: lineRate(this.attempts, this.lineStartedAt ?? this.shiftStartedAt, now),
      progress: this.view.progress(),
      ...(this.problem ? { problem: failureText(this.problem) } : {}),
      ...(this.lastScan ? { lastScan: this.lastScan } : {}),
    };
  }

  /** For the header: whether operator mode is on; when the journal cannot say, screens are shown locked (the calls are refused anyway). */
  private pinSetOrAssumed(): boolean {
    try {
      return this.access.pinSet();
    } catch {
      return true;
    }
  }

  private settingsView(line: LineSettings | undefined): SettingsView {
    const view = settingsView(line, this.profile, this.policy);
    const config = this.station?.config;
    if (!config) return view;
    const cloud = config.cloud as { backend: string; url: string };
    return { ...view, running: { backend: cloud.backend, url: withoutUrlCredentials(cloud.url), ports: lineSlots(config.ports), ...(this.configSource ? { source: this.configSource } : {}) } };
  }

  /** A running line is not replaced by one with no ports: the screen would go blank while units may be at work. */
  private refuseEmptyRunningLine(ports: number): void {
    if (!this.line || ports > 0) return;
    const running = this.view.allTiles().length;
    throw new SettingsRefused(
      [fieldProblem('ports', `The line is running on ${running} port${running === 1 ? '' : 's'}; settings with no ports would leave it nothing to run. Add the ports, or stop the line first`)],
      'Add at least one port, or stop the line before saving settings without ports.',
    );
  }

  /** Sends what changed since the last tick: so 32 busy ports cost at most ten updates a second each. */
  private publish(): void {
    if (this.listeners.size === 0) return;
    for (const port of this.dirtyPorts) {
      const tile = this.view.tile(port);
      if (tile) this.emit({ type: 'tile', tile });
    }
    this.dirtyPorts.clear();
    if (!this.headerDirty) return;
    const header = this.header();
    this.lastHeader = JSON.stringify(header);
    this.headerDirty = false;
    this.emit({ type: 'header', header });
  }

  private publishAll(): void {
    this.dirtyPorts.clear();
    this.headerDirty = false;
    const snapshot = this.snapshot();
    this.lastHeader = JSON.stringify(snapshot.header);
    this.emit({ type: 'snapshot', snapshot });
  }

  /** Once a second: the header as time alone changes it (units per hour), sent only if it did change. */
  private refreshHeader(): void {
    if (this.listeners.size > 0 && JSON.stringify(this.header()) !== this.lastHeader) this.headerDirty = true;
  }

  private emit(update: Update): void {
    for (const listener of this.listeners) listener(update);
  }

  private touchAll(): void {
    for (const tile of this.view.allTiles()) this.dirtyPorts.add(tile.port);
    this.headerDirty = true;
  }

  private fail(error: unknown): void {
    this.problem = describeError(error);
    this.headerDirty = true;
  }

  private write(stored: StoredSettings): void {
    this.options.settings.write(stored);
    this.stored = stored;
  }

  private tryConfig(stored: LineSettings): LineConfig | undefined {
    try {
      return toLineConfig(stored, this.box, this.policy);
    } catch (error) {
      // Settings saved earlier that the station (or its policy) now refuses: nothing was being saved.
      const said = error instanceof SettingsRefused ? new SettingsRefused(error.problems, error.hint, 'the saved settings cannot open the line') : error;
      this.problem = describeError(said);
      return undefined;
    }
  }

  private requireStation(): Station {
    if (!this.station) throw new ConfigError('the station has no line configured yet', { hint: 'Open Settings and choose a cloud backend, or start the demo line.' });
    return this.station;
  }

  private requirePort(port: string): void {
    if (!this.view.tile(port)) throw new StationError('PORT_UNKNOWN', `port ${port} is not on this line`, { hint: 'Add it in Settings → Ports.' });
  }

  private refuseWhenFixed(): void {
    const fixed = this.options.fixedConfig;
    if (fixed) throw new ConfigError(`this station runs the line configuration ${fixed.source}`, { hint: 'Edit that file and restart the station.' });
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.change.then(work, work);
    this.change = next.catch(() => undefined);
    return next;
  }
}

/** A serial scanner's scan in words: which slot's unit took it, or why none did. */
function scanMessage(report: ScanReport, view: LineView): string {
  if (!report.ok) return report.refused;
  const tile = view.tile(report.port);
  return `Label ${report.value} scanned on ${report.scanner}: for slot ${tile?.slot ?? report.port}${tile?.serial ? ` (unit ${tile.serial})` : ''}`;
}

/** The ports a screen named, blank rows left out. */
function portCount(input: SettingsInput): number {
  return input.ports.filter((port) => (typeof port === 'string' ? port : port.path).trim() !== '').length;
}

function attemptFilter(query: Omit<HistoryQuery, 'limit'>, limit: number): AttemptFilter {
  const port = query.port?.trim();
  return {
    ...(query.serial?.trim() ? { serialContains: query.serial.trim() } : {}),
    ...(query.result ? { result: query.result } : {}),
    ...(port ? { port } : {}),
    ...(query.from === undefined ? {} : { from: query.from }),
    ...(query.to === undefined ? {} : { to: query.to }),
    limit,
  };
}

function historyRow(unit: AttemptRecord): HistoryRow {
  const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    id: unit.id,
    unitId: unit.unitId,
    attempt: unit.number,
    serial: unit.serial,
    port: unit.port,
    ...optional('slot', unit.slot),
    result: unit.result,
    ...optional('failedStep', unit.failedStep),
    ...optional('error', optionalFailureText(unit.error)),
    ...optional('thingId', unit.thingId),
    ...optional('versionId', unit.versionId),
    startedAt: unit.startedAt,
    ...optional('finishedAt', unit.finishedAt),
    ...optional('operator', unit.operator),
    ...optional('stationId', unit.stationId),
    ...optional('configHash', unit.configHash),
    ...optional('firmwareSha256', unit.firmwareSha256),
    ...optional('label', labelState(unit)),
    ...optional('labelProblem', optionalFailureText(unit.labelProblem)),
  };
}
