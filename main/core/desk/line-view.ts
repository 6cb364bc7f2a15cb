import type { Header, Tile, TileState } from '../../../contract/station-contract.ts';
import { PIPELINE_STEPS, type PipelineStep, type StationEvent, type UnitOutcome } from '../engine/events.ts';

/** Failures a person must fix at the port (plug, cable, duplicate), not at the unit. */
const ATTENTION_CODES = new Set(['PORT_DISCONNECTED', 'PORT_OPEN_FAILED', 'SERIAL_DUPLICATE']);
const RECENT_UNITS = 8;

function freshTile(port: string, state: TileState, plan: readonly PipelineStep[]): Tile {
  return { port, state, steps: plan.map((step) => ({ step, state: 'pending' as const })), recent: [], queued: 0 };
}

/**
 * What the screens show of a line, built from the station's events: a tile per
 * port and the shift's counters. Pure state, no I/O: the desk feeds it events
 * and publishes what changed.
 */
export class LineView {
  private readonly tiles = new Map<string, Tile>();
  /** The steps this line runs for a unit, shown on a tile before its unit's own plan arrives. */
  private plan: readonly PipelineStep[] = PIPELINE_STEPS;
  private readonly counts = { passed: 0, failed: 0, pending: 0 };
  private firstUnitAt: number | undefined;
  readonly shiftStartedAt: number;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.shiftStartedAt = now();
  }

  /** The line's ports, in the configured order, each showing the line's plan until a unit starts; a port no longer configured disappears. */
  setPorts(ports: string[], state: TileState, plan: readonly PipelineStep[] = PIPELINE_STEPS): void {
    this.plan = plan;
    const keep = new Set(ports);
    for (const port of this.tiles.keys()) if (!keep.has(port)) this.tiles.delete(port);
    for (const port of ports) {
      const tile = this.tiles.get(port);
      if (!tile) this.tiles.set(port, freshTile(port, state, plan));
      else if (tile.state === 'idle' || tile.state === 'waiting') tile.state = state;
    }
  }

  /** Ports with no unit at work, when the line starts (waiting) or stops (idle). */
  setIdleState(state: 'idle' | 'waiting'): void {
    for (const tile of this.tiles.values()) if (tile.state === 'idle' || tile.state === 'waiting') tile.state = state;
  }

  tile(port: string): Tile | undefined {
    return this.tiles.get(port);
  }

  allTiles(): Tile[] {
    return [...this.tiles.values()];
  }

  /** Applies one station event; returns the port whose tile changed. */
  apply(event: StationEvent): string {
    const tile = this.tiles.get(event.port) ?? this.adopt(event.port);
    if (event.serial !== undefined) tile.serial = event.serial;
    delete tile.waitingForCloud;
    if (event.type === 'prompt') {
      if (event.prompt) tile.prompt = { id: event.prompt.id, kind: event.prompt.kind, text: event.prompt.text, until: event.prompt.until };
      else delete tile.prompt;
      return tile.port;
    }
    if (event.type === 'plan') this.beginUnit(tile, event.steps);
    else if (event.type === 'waiting') tile.waitingForCloud = { reason: event.reason, until: event.until };
    else if (event.type === 'step') this.applyStep(tile, event.step, event.status, event.error);
    else if (event.type === 'progress') {
      tile.progress = {
        step: event.step,
        bytesDone: event.bytesDone,
        total: event.total,
        bytesPerSecond: Math.max(0, event.bytesPerSecond),
        ...(event.secondsLeft === undefined ? {} : { secondsLeft: Math.max(0, event.secondsLeft) }),
      };
    } else this.applyOutcome(tile, event);
    return tile.port;
  }

  /** A unit's record changed outside the pipeline (its queued cloud calls went through, or one failed): returns the port whose tile changed. */
  settleRecent(unitId: number, result: 'passed' | 'failed' | 'pending'): string | undefined {
    for (const tile of this.tiles.values()) {
      const entry = tile.recent.find((unit) => unit.unitId === unitId);
      if (!entry) continue;
      if (entry.result === result) return undefined;
      this.counts[entry.result]--;
      this.counts[result]++;
      entry.result = result;
      if (tile.unitId === unitId && tile.state === 'pending') tile.state = result;
      tile.queued = tile.recent.filter((unit) => unit.result === 'pending').length;
      return tile.port;
    }
    return undefined;
  }

  header(extra: Pick<Header, 'configured' | 'demo' | 'lineRunning' | 'online' | 'outboxPending'> & { problem?: string; demoInMemory?: string }): Header {
    const finished = this.counts.passed + this.counts.failed + this.counts.pending;
    const hours = this.firstUnitAt === undefined ? 0 : (this.now() - this.firstUnitAt) / 3_600_000;
    return {
      ...extra,
      passed: this.counts.passed,
      failed: this.counts.failed,
      pending: this.counts.pending,
      ...(finished > 0 ? { yield: (this.counts.passed + this.counts.pending) / finished } : {}),
      // Under a minute of work the rate is noise: wait for it.
      unitsPerHour: hours > 1 / 60 ? Math.round(finished / hours) : 0,
      shiftStartedAt: this.shiftStartedAt,
    };
  }

  private adopt(port: string): Tile {
    const tile = freshTile(port, 'waiting', this.plan);
    this.tiles.set(port, tile);
    return tile;
  }

  private applyStep(tile: Tile, step: PipelineStep, status: 'started' | 'done' | 'skipped' | 'failed', error?: string): void {
    if (status === 'started' && tile.state !== 'working') this.beginUnit(tile, this.plan);
    const entry = tile.steps.find((candidate) => candidate.step === step);
    if (entry) entry.state = status;
    if (status === 'started') tile.step = step;
    else if (tile.progress?.step === step) delete tile.progress;
    if (status === 'failed') tile.failure = { step, message: error ?? `failed at ${step}` };
  }

  /** A unit starts on the tile: its steps are the plan the engine published (every step, for a unit seen mid-way). */
  private beginUnit(tile: Tile, plan: readonly PipelineStep[]): void {
    this.firstUnitAt ??= this.now();
    tile.state = 'working';
    tile.steps = plan.map((step) => ({ step, state: 'pending' as const }));
    tile.startedAt = this.now();
    delete tile.finishedAt;
    delete tile.failure;
    delete tile.progress;
    delete tile.prompt;
    delete tile.step;
    delete tile.unitId;
    delete tile.serial;
  }

  private applyOutcome(tile: Tile, outcome: UnitOutcome): void {
    tile.finishedAt = this.now();
    delete tile.progress;
    if (outcome.unitId !== undefined) tile.unitId = outcome.unitId;
    if (outcome.result === 'failed') {
      tile.state = outcome.errorCode !== undefined && ATTENTION_CODES.has(outcome.errorCode) ? 'attention' : 'failed';
      tile.failure = { ...(outcome.failedStep ? { step: outcome.failedStep } : {}), message: outcome.error ?? 'failed' };
    } else {
      tile.state = outcome.result;
    }
    // A retry replaces the failed record's place in the list rather than adding a unit.
    const previous = outcome.unitId === undefined ? undefined : tile.recent.find((unit) => unit.unitId === outcome.unitId);
    if (previous) {
      this.counts[previous.result]--;
      tile.recent.splice(tile.recent.indexOf(previous), 1);
    }
    tile.recent.unshift({ ...(outcome.unitId === undefined ? {} : { unitId: outcome.unitId }), ...(outcome.serial ? { serial: outcome.serial } : {}), result: outcome.result, at: this.now() });
    tile.recent.length = Math.min(tile.recent.length, RECENT_UNITS);
    tile.queued = tile.recent.filter((unit) => unit.result === 'pending').length;
    this.counts[outcome.result]++;
  }
}
