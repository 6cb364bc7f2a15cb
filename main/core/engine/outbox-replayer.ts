import type { CloudAdapter, OutboxCall } from '../cloud/cloud-adapter.ts';
import { CloudError } from '../cloud/cloud-error.ts';
import { StationError, describeError, isStationError } from '../errors.ts';
import { heardSafely } from '../heard-safely.ts';
import type { Journal, OutboxEntry } from '../storage/journal.ts';
import { isConnectivityFailure, type Connectivity } from './connectivity.ts';
import { issuedBy } from './pipeline/held-credentials.ts';

const WAITS_FOR_ITS_CLOUD = 'It waits in the outbox: it goes out once the line points at that cloud again, or with station outbox replay --config FILE naming the configuration it was queued under.';

/** A queued call the configured cloud must not or cannot take (another cloud's credentials, another backend's call): it waits for its own. */
function waitsForItsCloud(error: unknown): boolean {
  return isStationError(error) && (error.code === 'CREDENTIALS_OTHER_CLOUD' || error.code === 'OUTBOX_WRONG_CLOUD' || error.code === 'OUTBOX_OTHER_CLOUD');
}

/** How one call's replay went: through, due again later, waiting for its own cloud, given up, or claimed by someone else first. */
type ReplayOutcome = 'done' | 'retry' | 'parked' | 'failed' | 'taken';

export interface ReplayerOptions {
  journal: Journal;
  adapter: CloudAdapter;
  connectivity: Connectivity;
  /** Calls in flight at once. */
  concurrency?: number;
  /** How often an offline station probes the cloud. */
  probeIntervalMs?: number;
  /** Backoff for a failed call: base × 2^(attempts-1), capped, with jitter. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Told whenever a call went through or was given up, and when a unit's record changed because of it (its calls all done, or one failed). */
  onProgress?: (change: { unitId: number; settled: boolean }) => void;
}

/**
 * Drains the outbox by itself: probes while offline, replays due calls when
 * online (each unit's calls in order, a bounded number at once), backs off on
 * failures and honours Retry-After. Each call is marked in flight (committed)
 * before it is sent, and its result is recorded together with "done".
 */
export class OutboxReplayer {
  private readonly options: ReplayerOptions;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private draining: Promise<number> | undefined;
  /** A drain claimed calls whose outcome the journal could not record (disk full, read-only): they go back to the queue. */
  private unrecorded = false;

  constructor(options: ReplayerOptions) {
    this.options = options;
  }

  /** Starts the background loop (the station has already queued again the calls a crash interrupted). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async () => {
      if (!this.running) return;
      try {
        if (!this.options.connectivity.online) await this.options.connectivity.confirm();
        if (this.options.connectivity.online) await this.drain();
      } catch {
        // A journal that cannot be read now (disk full, closing) is tried again on the next tick, never a crash.
      } finally {
        if (this.running) {
          this.timer = setTimeout(tick, this.options.probeIntervalMs ?? 2000);
          this.timer.unref();
        }
      }
    };
    void tick();
  }

  /**
   * Stops for good (the station is closing): resolves once the calls in flight are answered and recorded; the calls
   * still waiting stay queued, and a drain asked for later does nothing, so nothing touches a closed journal.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.draining;
  }

  /** "Replay now": replays everything due; resolves with how many calls completed. */
  drain(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    this.draining ??= this.drainAll().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /** The operator's "replay now": waiting calls are due at once and the cloud is tried even if it seemed offline. */
  async replayNow(): Promise<number> {
    this.options.journal.makeAllDue();
    await this.options.connectivity.confirm();
    return this.drain();
  }

  private async drainAll(): Promise<number> {
    const { journal } = this.options;
    // Only one drain runs and none of its calls is in flight now, so every call still marked in flight is one whose outcome went unrecorded.
    if (this.unrecorded) {
      journal.requeueInFlight();
      this.unrecorded = false;
    }
    let completed = 0;
    // Calls set aside for their own cloud in this drain: the drain goes on past them (other clouds' calls must not
    // hold this cloud's behind them), but never twice for the same call, so it ends.
    const parked = new Set<number>();
    for (;;) {
      // Stopped (the station is closing): the calls in flight end, the rest stay queued; a backlog is not sent out first.
      if (this.stopped || !this.options.connectivity.online) return completed;
      const due = journal.dueOutbox(this.options.concurrency ?? 8);
      if (due.length === 0) return completed;
      // Every call is let finish before a failure ends the drain: none is still in flight when its claim is undone.
      const outcomes: ReplayOutcome[] = [];
      for (const result of await Promise.allSettled(due.map((entry) => this.replay(entry)))) {
        if (result.status === 'rejected') {
          this.unrecorded = true;
          throw result.reason;
        }
        outcomes.push(result.value);
      }
      completed += outcomes.filter((outcome) => outcome === 'done').length;
      const newlyParked = due.filter((entry, index) => outcomes[index] === 'parked' && !parked.has(entry.id));
      newlyParked.forEach((entry) => parked.add(entry.id));
      if (!outcomes.includes('done') && newlyParked.length === 0) return completed;
    }
  }

  private async replay(entry: OutboxEntry): Promise<ReplayOutcome> {
    const { journal } = this.options;
    // Claimed atomically: a call another replayer took meanwhile is not sent twice.
    if (!journal.claimOutbox(entry.id)) return 'taken';
    let outcome: Exclude<ReplayOutcome, 'taken'>;
    let settled = false;
    try {
      await this.send(entry);
      outcome = 'done';
      if (journal.unfinishedOutbox(entry.unitId) === 0) {
        const unit = journal.unit(entry.unitId);
        // The unit's cloud side is complete; it stays pending only while it is still owed its credentials.
        if (unit && unit.result !== 'failed') {
          journal.finishUnit(entry.unitId, unit.credentialsState === 'pending' ? 'pending' : 'passed');
          settled = true;
        }
      }
    } catch (error) {
      const message = describeError(error);
      // One failed call is not an outage: the probe decides (and, offline, the loop waits for it to answer).
      if (isConnectivityFailure(error)) await this.options.connectivity.confirm();
      const retryable = isConnectivityFailure(error) || (error instanceof CloudError && error.retryable);
      if (waitsForItsCloud(error)) {
        // Nothing was sent: the call stays queued, and its unit pending, until the line points at its cloud again
        // (or `station outbox replay --config` names it). Failing it would lose a call only that cloud can take.
        journal.markRetry(entry.id, message, Date.now() + (this.options.retryMaxMs ?? 60_000));
        outcome = 'parked';
      } else if (retryable) {
        const delay = error instanceof CloudError && error.retryAfterMs !== undefined ? error.retryAfterMs : this.backoff(entry.attempts + 1);
        journal.markRetry(entry.id, message, Date.now() + delay);
        outcome = 'retry';
      } else {
        journal.markFailed(entry.id, message);
        journal.finishUnit(entry.unitId, 'failed', { step: entry.call, error: `replay of ${entry.call} failed: ${message}` });
        outcome = 'failed';
        settled = true;
      }
    }
    // Told once recorded: a listener that cannot hear of it (or read it back) is no reason to undo it (a call done stays done).
    if ((outcome === 'done' || outcome === 'failed') && this.options.onProgress) heardSafely(this.options.onProgress)({ unitId: entry.unitId, settled });
    return outcome;
  }

  /** Makes the queued call; an activation's credentials are recorded with its completion. */
  private async send(entry: OutboxEntry): Promise<void> {
    const { journal, adapter } = this.options;
    const call = entry.call as OutboxCall;
    if (entry.backend !== adapter.backend.id || adapter.steps[call] === undefined) {
      throw new StationError('OUTBOX_WRONG_CLOUD', `the outbox holds a ${entry.call} call for ${entry.backend}, which the configured cloud (${adapter.backend.label}) cannot make`, {
        hint: WAITS_FOR_ITS_CLOUD,
      });
    }
    // A call made for one cloud goes to no other, whichever backend: an activation or registration too.
    if (entry.account !== undefined && entry.account !== adapter.account) {
      throw new StationError('OUTBOX_OTHER_CLOUD', `${entry.call} of unit ${entry.serial} not sent: it was queued for ${entry.account}, and the station now talks to ${adapter.account}`, { hint: WAITS_FOR_ITS_CLOUD });
    }
    const credentials = () => {
      const held = journal.credentials(entry.unitId);
      if (!held) throw new CloudError(`no credentials are held for unit ${entry.serial}`, { backend: adapter.backend, cloudStep: call, failure: 'refused', retryable: false });
      // A key goes back only to the cloud that issued it: a cloud address changed since (a screen's settings, --config) must not receive it.
      if (!issuedBy(held, adapter)) {
        throw new StationError('CREDENTIALS_OTHER_CLOUD', `${entry.call} of unit ${entry.serial} not sent: its credentials were issued by ${held.account}, and the station now talks to ${adapter.account}`, {
          hint: WAITS_FOR_ITS_CLOUD,
          retryable: false,
        });
      }
      return { thingId: held.thingId, apiKey: held.apiKey };
    };
    switch (call) {
      case 'activate':
        return journal.completeOutbox(entry, { ...(await adapter.activate!(entry.serial)), account: adapter.account });
      case 'rename':
        await adapter.rename!(credentials(), String(entry.payload.name));
        return journal.completeOutbox(entry);
      case 'confirm':
        await adapter.confirmVersion!(credentials(), String(entry.payload.versionId));
        return journal.completeOutbox(entry);
      case 'register':
        await adapter.register!(entry.serial);
        return journal.completeOutbox(entry);
    }
  }

  private backoff(attempt: number): number {
    const base = this.options.retryBaseMs ?? 1000;
    const max = this.options.retryMaxMs ?? 60_000;
    return Math.min(max, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
  }
}
