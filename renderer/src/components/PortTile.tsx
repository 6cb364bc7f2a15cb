import type { StationBridge, Tile } from '../../../contract/station-contract.ts';
import { bytes, duration, shortPort, STATE_LOOK, STEP_LABELS, withoutPlace } from '../format.ts';

interface Props {
  tile: Tile;
  now: number;
  lineRunning: boolean;
  /** Many ports on one screen: the current step in words instead of the whole pipeline. */
  compact: boolean;
  act: (label: string, action: (bridge: StationBridge) => Promise<unknown>) => void;
}

/** One port: who is on it, where it is in the pipeline, how far the flash is, and what to do about a failure. */
export function PortTile({ tile, now, lineRunning, compact, act }: Props) {
  const look = STATE_LOOK[tile.state];
  const id = `tile-${tile.port.replace(/[^A-Za-z0-9]/g, '-')}`;
  const progress = tile.progress;
  const percent = progress && progress.total > 0 ? Math.floor((progress.bytesDone / progress.total) * 100) : undefined;
  const elapsed = tile.startedAt === undefined ? undefined : (tile.finishedAt ?? now) - tile.startedAt;
  const canRetry = (tile.state === 'failed' || tile.state === 'attention') && tile.unitId !== undefined;
  return (
    <article className={`tile tile-${tile.state}`} aria-labelledby={`${id}-name`} data-port={tile.port}>
      <header className="tile-head">
        <h2 id={`${id}-name`} title={tile.port}>
          {shortPort(tile.port)}
        </h2>
        <span className="badge" role="status" aria-live="polite">
          <span aria-hidden="true">{look.icon}</span> {look.words}
        </span>
      </header>
      <p className="serial">
        Unit <strong>{tile.serial ?? '—'}</strong>
        {elapsed !== undefined && <span className="elapsed"> · {duration(elapsed)}</span>}
      </p>
      {compact ? (
        tile.state === 'working' &&
        tile.step && (
          <p className="step-line">
            Step {tile.steps.findIndex((entry) => entry.step === tile.step) + 1}/{tile.steps.length}: <strong>{STEP_LABELS[tile.step]}</strong>
          </p>
        )
      ) : (
        <ol className="steps" aria-label={`Pipeline on ${shortPort(tile.port)}`}>
          {tile.steps.map(({ step, state }) => (
            <li key={step} className={`step step-${state}`} aria-current={tile.state === 'working' && tile.step === step ? 'step' : undefined} title={`${STEP_LABELS[step]}: ${state}`}>
              {STEP_LABELS[step]}
            </li>
          ))}
        </ol>
      )}
      {progress && percent !== undefined && (
        <div className="progress">
          <div
            role="progressbar"
            aria-label={`${progress.step === 'flash' ? 'Flashing' : 'Downloading'} on ${shortPort(tile.port)}`}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent}
            aria-valuetext={`${percent} percent`}
            className="bar"
          >
            <div className="fill" style={{ width: `${percent}%` }} />
          </div>
          <p className="rate">
            {progress.step === 'flash' ? 'Flashing' : 'Downloading'} {percent}% · {bytes(progress.bytesPerSecond)}/s
            {progress.secondsLeft !== undefined && ` · ${duration(progress.secondsLeft * 1000)} left`}
          </p>
        </div>
      )}
      {tile.waitingForCloud && tile.state === 'working' && (
        <p className="cloud-wait" role="status">
          <strong>Waiting for the cloud</strong> (up to {duration(Math.max(0, tile.waitingForCloud.until - now))} more): {withoutPlace(tile.waitingForCloud.reason)}
        </p>
      )}
      {tile.failure && (tile.state === 'failed' || tile.state === 'attention') && (
        <p className="failure" title={tile.failure.message}>
          <strong>Failed at {tile.failure.step ? STEP_LABELS[tile.failure.step] : 'start'}:</strong> {withoutPlace(tile.failure.message)}
        </p>
      )}
      <div className="actions">
        {tile.state === 'working' && (
          <button type="button" onClick={() => act(`Cancel ${tile.port}`, (bridge) => bridge.cancelPort(tile.port))}>
            Cancel
          </button>
        )}
        {canRetry && (
          <button type="button" className="primary" onClick={() => act(`Retry ${tile.serial ?? tile.port}`, (bridge) => bridge.retryUnit(tile.unitId!))}>
            Retry
          </button>
        )}
        {!lineRunning && tile.state !== 'working' && (
          <button type="button" onClick={() => act(`Start ${tile.port}`, (bridge) => bridge.startPort(tile.port))}>
            Start
          </button>
        )}
      </div>
      {tile.recent.length > 0 && !compact && (
        <details className="recent">
          <summary>
            {tile.recent.length} recent unit{tile.recent.length === 1 ? '' : 's'}
            {tile.queued > 0 && `, ${tile.queued} waiting for the cloud`}
          </summary>
          <ul>
            {tile.recent.map((unit) => (
              <li key={`${unit.unitId ?? unit.serial}-${unit.at}`}>
                {unit.serial ?? 'unknown unit'}: {STATE_LOOK[unit.result].icon} {unit.result === 'pending' ? 'cloud queued' : unit.result}
              </li>
            ))}
          </ul>
        </details>
      )}
    </article>
  );
}
