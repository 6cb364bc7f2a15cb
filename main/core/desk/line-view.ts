import type { LineProgress, Tile, TileAction, TileState } from '../../../contract/station-contract.ts';
import { failureText } from './screen-text.ts';
import { hasUnit, PIPELINE_STEPS, type PipelineStep, type StationEvent, type UnitOutcome } from '../engine/events.ts';

/** Failures a person fixes at the port by plugging the unit (or the right unit) in again. */
const REPLUG_CODES = new Set(['PORT_DISCONNECTED', 'PORT_OPEN_FAILED', 'RETRY_WRONG_UNIT']);
/** Failures a retry here cannot fix: the unit is set aside (a duplicate serial, a unit the cloud does not know, a one-shot call whose outcome is unknown). */
const SET_ASIDE_CODES = new Set(['SERIAL_DUPLICATE', 'CLOUD_OUTCOME_UNKNOWN', 'CLOUD_NOT_FOUND', 'CLOUD_CONFLICT', 'WRONG_CHIP']);
const RECENT_UNITS = 8;

/** Slots in the order a person reads them: A2 before A10, 9 before 10. */
const bySlot = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** A port of the line and its name on the fixture. */
export interface PortSlot {
  path: string;
  slot: string;
}

function freshTile(port: PortSlot, state: TileState, plan: readonly PipelineStep[]): Tile {
  return { port: port.path, slot: port.slot, state, steps: plan.map((step) => ({ step, state: 'pending' as const })), recent: [], queued: 0 };
}

/** The one action that fits how a unit ended, and whether a person must come to the port for it. */
export function actionFor(outcome: Pick<UnitOutcome, 'result' | 'errorCode'>): { state: TileState; action?: TileAction } {
  if (outcome.result !== 'failed') return { state: outcome.result };
  const code = outcome.errorCode ?? '';
  if (code === 'CANCELLED') return { state: 'cancelled', action: 'retry' };
  if (REPLUG_CODES.has(code)) return { state: 'attention', action: 'replug' };
  if (SET_ASIDE_CODES.has(code)) return { state: code === 'SERIAL_DUPLICATE' ? 'attention' : 'failed', action: 'set-aside' };
  return { state: 'failed', action: 'retry' };
}

/**
 * What the screens show of a line's ports, built from the station's events:
 * a tile per port, ordered by slot. Pure state, no I/O: the desk feeds it
 * events and publishes what changed. The line's counts come from the journal
 * (line-figures.ts), not from here.
 */
export class LineView {
  private readonly tiles = new Map<string, Tile>();
  /** The steps this line runs for a unit, shown on a tile before its unit's own plan arrives. */
  private plan: readonly PipelineStep[] = PIPELINE_STEPS;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** The line's ports with their slots, each showing the line's plan until a unit starts; a port no longer configured disappears. */
  setPorts(ports: readonly PortSlot[], state: TileState, plan: readonly PipelineStep[] = PIPELINE_STEPS): void {
    this.plan = plan;
    const keep = new Set(ports.map((port) => port.path));
    for (const port of this.tiles.keys()) if (!keep.has(port)) this.tiles.delete(port);
    for (const port of ports) {
      const tile = this.tiles.get(port.path);
      if (!tile) this.tiles.set(port.path, freshTile(port, state, plan));
      else {
        tile.slot = port.slot;
        if (tile.state === 'idle' || tile.state === 'waiting') tile.state = state;
      }
    }
  }

  /** Ports with no unit at work, when the line starts (waiting) or stops (idle). */
  setIdleState(state: 'idle' | 'waiting'): void {
    for (const tile of this.tiles.values()) if (tile.state === 'idle' || tile.state === 'waiting') tile.state = state;
  }

  tile(port: string): Tile | undefined {
    return this.tiles.get(port);
  }

  /** Every tile, in slot order. */
  allTiles(): Tile[] {
    return [...this.tiles.values()].sort((a, b) => bySlot.compare(a.slot, b.slot));
  }

  /** Where the ports are, and the line's progress: a port done counts whole, a port at work by the steps its unit has behind it. */
  progress(): LineProgress {
    const tiles = [...this.tiles.values()];
    const count = (...states: TileState[]) => tiles.filter((tile) => states.includes(tile.state)).length;
    const working = tiles.filter((tile) => tile.state === 'working');
    const behind = working.reduce((sum, tile) => sum + tile.steps.filter((step) => step.state === 'done' || step.state === 'skipped').length / Math.max(1, tile.steps.length), 0);
    const done = count('passed', 'pending', 'failed', 'cancelled');
    const attention = count('attention');
    return {
      ports: tiles.length,
      working: working.length,
      done,
      waiting: count('idle', 'waiting'),
      attention,
      fraction: tiles.length ? Math.min(1, (done + attention + behind) / tiles.length) : 0,
    };
  }

  /** Applies one station event; returns the port whose tile changed. */
  apply(event: StationEvent): string {
    const tile = this.tiles.get(event.port) ?? this.adopt(event.port);
    if (event.serial !== undefined) tile.serial = event.serial;
    delete tile.waitingForCloud;
    delete tile.waitingForFile;
    if (event.type === 'prompt') {
      if (event.prompt) tile.prompt = { id: event.prompt.id, kind: event.prompt.kind, text: event.prompt.text, until: event.prompt.until };
      else delete tile.prompt;
      return tile.port;
    }
    if (event.type === 'plan') this.beginUnit(tile, event.steps);
    else if (event.type === 'waiting') tile[event.for === 'cloud' ? 'waitingForCloud' : 'waitingForFile'] = { reason: failureText(event.reason), until: event.until };
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
      entry.result = result;
      if (tile.unitId === unitId && tile.state === 'pending') {
        tile.state = result;
        if (result === 'failed') tile.action = 'retry';
      }
      tile.queued = tile.recent.filter((unit) => unit.result === 'pending').length;
      return tile.port;
    }
    return undefined;
  }

  /** An attempt's label was printed after all (a reprint): the tile that offered it no longer does. Returns that tile's port. */
  labelPrinted(attemptId: number): string | undefined {
    for (const tile of this.tiles.values()) {
      if (tile.labelNotPrinted?.attemptId !== attemptId) continue;
      delete tile.labelNotPrinted;
      return tile.port;
    }
    return undefined;
  }

  /** A port found by its USB ids joins the line, named by its device file. */
  private adopt(port: string): Tile {
    const tile = freshTile({ path: port, slot: port.split(/[\\/]/).filter(Boolean).pop() ?? port }, 'waiting', this.plan);
    this.tiles.set(port, tile);
    return tile;
  }

  private applyStep(tile: Tile, step: PipelineStep, status: 'started' | 'done' | 'skipped' | 'failed', error?: string): void {
    if (status === 'started' && tile.state !== 'working') this.beginUnit(tile, this.plan);
    const entry = tile.steps.find((candidate) => candidate.step === step);
    if (entry) entry.state = status;
    if (status === 'started') tile.step = step;
    else if (tile.progress?.step === step) delete tile.progress;
    if (status === 'failed') tile.failure = { step, message: failureText(error ?? `failed at ${step}`) };
  }

  /** A unit starts on the tile: its steps are the plan the engine published (every step, for a unit seen mid-way). */
  /** The tile set for a unit's steps: nothing left of the unit before it. */
  private resetTile(tile: Tile, state: TileState, plan: readonly PipelineStep[]): void {
    tile.state = state;
    tile.steps = plan.map((step) => ({ step, state: 'pending' as const }));
    for (const key of ['startedAt', 'finishedAt', 'failure', 'progress', 'prompt', 'step', 'unitId', 'serial', 'action', 'labelNotPrinted'] as const) delete tile[key];
  }

  private beginUnit(tile: Tile, plan: readonly PipelineStep[]): void {
    this.resetTile(tile, 'working', plan);
    tile.startedAt = this.now();
  }

  private applyOutcome(tile: Tile, outcome: UnitOutcome): void {
    // Stopped before any unit answered (an empty slot): no unit was here, so the port shows as before, ready to start.
    if (!hasUnit(outcome)) return this.resetTile(tile, 'idle', this.plan);
    tile.finishedAt = this.now();
    delete tile.progress;
    if (outcome.unitId !== undefined) tile.unitId = outcome.unitId;
    const { state, action } = actionFor(outcome);
    tile.state = state;
    if (action) tile.action = action;
    if (outcome.result === 'failed') tile.failure = { ...(outcome.failedStep ? { step: outcome.failedStep } : {}), message: failureText(outcome.error ?? 'failed') };
    if (outcome.labelNotPrinted !== undefined && outcome.attemptId !== undefined) tile.labelNotPrinted = { attemptId: outcome.attemptId, reason: failureText(outcome.labelNotPrinted) };
    // Every try is listed: a retried unit shows its failure and its pass.
    const result = state === 'cancelled' ? 'cancelled' : outcome.result;
    tile.recent.unshift({ ...(outcome.unitId === undefined ? {} : { unitId: outcome.unitId }), ...(outcome.serial ? { serial: outcome.serial } : {}), result, at: this.now() });
    tile.recent.length = Math.min(tile.recent.length, RECENT_UNITS);
    tile.queued = new Set(tile.recent.filter((unit) => unit.result === 'pending').map((unit) => unit.unitId)).size;
  }
}
