import { useState } from 'react';
import type { StationBridge, Tile } from '../../../contract/station-contract.ts';
import { bytes, duration, firstSentence, shortPort, STATE_LOOK, STEP_DOING, STEP_LABELS, stateWord, unitPercent, withoutPlace } from '../format.ts';
import { PromptInput } from './PromptInput.tsx';

export type Density = 'roomy' | 'regular' | 'dense';

interface Props {
  bridge: StationBridge;
  tile: Tile;
  /** This tile's prompt is the only one open on the line (it takes the keyboard). */
  onlyPrompt: boolean;
  now: number;
  lineRunning: boolean;
  /** How much a tile shows: everything (few ports), steps only while working, or slot, state, step and percentage (many ports). */
  density: Density;
  act: (label: string, action: (bridge: StationBridge) => Promise<unknown>) => void;
}

/**
 * One port, read from two metres: the whole tile in its state's colour and
 * pattern, the slot name and the state word large, with the step and a
 * percentage while a unit is at work, and for a unit that did not pass the
 * whole reason and the one thing to do about it.
 */
export function PortTile({ bridge, tile, onlyPrompt, now, lineRunning, density, act }: Props) {
  const dense = density === 'dense';
  const look = STATE_LOOK[tile.state];
  const id = `tile-${tile.port.replace(/[^A-Za-z0-9]/g, '-')}`;
  const elapsed = tile.startedAt === undefined ? undefined : (tile.finishedAt ?? now) - tile.startedAt;
  const working = tile.state === 'working';
  const progress = tile.progress;
  const transferPercent = progress && progress.total > 0 ? Math.floor((progress.bytesDone / progress.total) * 100) : undefined;
  const unitDone = unitPercent(tile);
  const word = stateWord(tile);
  const press = usePressOnce(tile, act);
  return (
    <article className={`tile tile-${tile.state}`} aria-labelledby={`${id}-slot`} aria-describedby={`${id}-state`} data-port={tile.port} data-state={tile.state}>
      <header className="tile-head">
        <h2 id={`${id}-slot`} className="slot" title={`Slot ${tile.slot}: ${tile.port}`}>
          <span className="visually-hidden">Slot </span>
          {tile.slot}
        </h2>
        {working ? (
          <span className="percent" aria-label={`${unitDone} percent done`}>
            {unitDone}%
          </span>
        ) : (
          <span className="port" title={tile.port}>
            {shortPort(tile.port)}
          </span>
        )}
      </header>
      <p id={`${id}-state`} className="state" role="status" aria-live="polite">
        <span className="icon" aria-hidden="true">
          {look.icon}
        </span>{' '}
        <span className="word">{working && tile.step ? STEP_DOING[tile.step] : word}</span>
      </p>
      {working && (
        <div
          role="progressbar"
          className="bar"
          aria-label={`${progress?.step === 'flash' ? 'Flashing' : progress?.step === 'download' ? 'Downloading' : 'Progress'} on slot ${tile.slot}`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={unitDone}
          aria-valuetext={`${unitDone} percent${transferPercent === undefined ? '' : `, ${progress?.step === 'flash' ? 'flash' : 'download'} ${transferPercent} percent`}`}
        >
          {/* The unit's progress, as the percentage above: a bar that refilled for each transfer would jump back at every step. */}
          <div className="fill" style={{ width: `${unitDone}%` }} />
        </div>
      )}
      <p className="serial">
        {tile.serial ?? (tile.state === 'waiting' ? 'Plug in a unit' : '—')}
        {elapsed !== undefined && <span className="elapsed"> · {duration(elapsed)}</span>}
      </p>
      {working && progress && !dense && (
        <p className="rate">
          {progress.step === 'flash' ? 'Flash' : 'Download'} {transferPercent}% · {bytes(progress.bytesPerSecond)}/s
          {progress.secondsLeft !== undefined && ` · ${duration(progress.secondsLeft * 1000)} left`}
        </p>
      )}
      {tile.prompt && working && <PromptInput bridge={bridge} port={tile.port} slot={tile.slot} prompt={tile.prompt} now={now} only={onlyPrompt} />}
      {tile.waitingForCloud && working && (
        <p className="cloud-wait">
          <strong>Waiting for the cloud</strong> (up to {duration(Math.max(0, tile.waitingForCloud.until - now))} more){dense ? '' : `: ${withoutPlace(tile.waitingForCloud.reason)}`}
        </p>
      )}
      {tile.waitingForFile && working && (
        <p className="cloud-wait">
          <strong>Waiting for the firmware file</strong> (up to {duration(Math.max(0, tile.waitingForFile.until - now))} more){dense ? '' : `: ${withoutPlace(tile.waitingForFile.reason)}`}
        </p>
      )}
      {tile.failure && (tile.state === 'failed' || tile.state === 'attention' || tile.state === 'cancelled') && (
        <p className="failure" title={tile.failure.message}>
          <strong>{tile.state === 'cancelled' ? 'Cancelled' : 'Failed'} at {tile.failure.step ? STEP_LABELS[tile.failure.step] : 'start'}</strong>
          {/* The whole reason or none: a dense tile names the step, and the reason is its tooltip and in History. */}
          {/* A smaller tile gives the first whole sentence (what happened); the advice after it is in the tooltip and History. */}
          {!dense && tile.state !== 'cancelled' && <>: {density === 'roomy' ? withoutPlace(tile.failure.message) : firstSentence(withoutPlace(tile.failure.message))}</>}
        </p>
      )}
      <TileAction tile={tile} lineRunning={lineRunning} press={press} />
      {tile.labelNotPrinted && !working && (
        <div className="label-not-printed" title={tile.labelNotPrinted.reason}>
          <strong>Label not printed</strong>
          {!dense && <>: {firstSentence(tile.labelNotPrinted.reason.replace(/^label not printed: /, ''))}</>}{' '}
          <button type="button" disabled={press.held} onClick={() => press.run(`Reprint the label of ${tile.serial ?? `slot ${tile.slot}`}`, (b) => b.reprintLabel(tile.labelNotPrinted!.attemptId))}>
            Reprint
          </button>
        </div>
      )}
      {tile.steps.length > 0 && (density === 'roomy' || working) && (
        // The unit's planned steps: named on a roomy tile, a segment each on a smaller one.
        <ol className={density === 'roomy' ? 'steps' : 'step-track'} aria-label={`Steps on slot ${tile.slot}`}>
          {tile.steps.map(({ step, state }) => (
            <li key={step} className={`step step-${state}`} aria-current={working && tile.step === step ? 'step' : undefined} title={`${STEP_LABELS[step]}: ${state}`}>
              <span className={density === 'roomy' ? undefined : 'visually-hidden'}>{STEP_LABELS[step]}</span>
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}

type Press = ReturnType<typeof usePressOnce>;

/**
 * A tile's buttons act once per picture of the tile: pressed, they hold
 * until the station's next update of the tile (or the call fails), so a
 * double click is one retry or one label, not a second call that fails
 * with "port busy" or prints the label twice.
 */
function usePressOnce(tile: Tile, act: Props['act']) {
  const [pressedOn, setPressedOn] = useState<Tile | undefined>();
  return {
    held: pressedOn === tile,
    run: (label: string, action: (bridge: StationBridge) => Promise<unknown>) => {
      setPressedOn(tile);
      act(label, (bridge) =>
        action(bridge).catch((error: unknown) => {
          setPressedOn(undefined);
          throw error;
        }),
      );
    },
  };
}

/** The one action that fits: cancel while working, retry a failure a retry can fix, a person's task otherwise, start on an idle port. */
function TileAction({ tile, lineRunning, press }: Pick<Props, 'tile' | 'lineRunning'> & { press: Press }) {
  if (tile.state === 'working') {
    return (
      <div className="actions">
        <button type="button" className="quiet" disabled={press.held} onClick={() => press.run(`Cancel slot ${tile.slot}`, (bridge) => bridge.cancelPort(tile.port))}>
          Cancel
        </button>
      </div>
    );
  }
  if (tile.action === 'retry' && tile.unitId !== undefined) {
    return (
      <div className="actions">
        <button type="button" className="primary" disabled={press.held} onClick={() => press.run(`Retry ${tile.serial ?? `slot ${tile.slot}`}`, (bridge) => bridge.retryUnit(tile.unitId!))}>
          Retry
        </button>
      </div>
    );
  }
  if (tile.action === 'replug') return <p className="todo">Plug the unit in again</p>;
  if (tile.action === 'set-aside') return <p className="todo">Set this unit aside</p>;
  if (!lineRunning && (tile.state === 'idle' || tile.state === 'waiting' || tile.state === 'passed' || tile.state === 'pending')) {
    return (
      <div className="actions">
        <button type="button" disabled={press.held} onClick={() => press.run(`Start slot ${tile.slot}`, (bridge) => bridge.startPort(tile.port))}>
          Start
        </button>
      </div>
    );
  }
  return null;
}
