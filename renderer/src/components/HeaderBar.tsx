import type { Header, LineFigures, StationBridge } from '../../../contract/station-contract.ts';
import { clock, duration, percent } from '../format.ts';

interface Props {
  header: Header | undefined;
  now: number;
  sound: { on: boolean; toggle: () => void };
  act: (label: string, action: (bridge: StationBridge) => Promise<unknown>) => void;
  /** Operator mode is off, or this screen is unlocked: starting and stopping the line is allowed. */
  mayChangeLine: boolean;
}

const ENGINEER_ONLY = 'Needs the engineer: unlock this screen with the engineer PIN in Settings';
const CLOUD_WORDS = { unknown: 'Cloud not checked yet', online: 'Cloud online', offline: 'Cloud offline' } as const;
const CLOUD_ICONS = { unknown: '?', online: '●', offline: '○' } as const;

/** The line at a glance: its progress, the shift's counts and yields, the rate and time per unit, the cloud and outbox, and start/stop. */
export function HeaderBar({ header, now, sound, act, mayChangeLine }: Props) {
  if (!header) return <p className="header-bar">Connecting to the station…</p>;
  const { shift, rate, progress } = header;
  return (
    <div className="header-bar" role="region" aria-label="Line status">
      <div className="header-row">
        <span className={`cloud cloud-${header.cloud}`} role="status" data-testid="cloud">
          <span aria-hidden="true">{CLOUD_ICONS[header.cloud]}</span> {CLOUD_WORDS[header.cloud]}
        </span>
        <span className="stat small">
          Outbox <strong data-testid="outbox">{header.outboxPending}</strong>
          <button type="button" disabled={!header.configured || header.outboxPending === 0} onClick={() => act('Replay now', (bridge) => bridge.replayOutbox())}>
            Replay now
          </button>
        </span>
        {header.demo && <span className="demo-badge">Demo line</span>}
        {header.demoInMemory && (
          <span className="demo-badge demo-in-memory" role="status" data-testid="demo-in-memory" title={header.demoInMemory}>
            Units in memory, not on ptys: {header.demoInMemory}
          </span>
        )}
        <span className="since">
          {header.lineRunning && header.lineStartedAt !== undefined ? `Line running ${duration(now - header.lineStartedAt)} (since ${clock(header.lineStartedAt)})` : 'Line stopped'} · Shift since {clock(shift.since)}
        </span>
        <button type="button" className="quiet" aria-pressed={sound.on} onClick={sound.toggle} title="A tone when a unit passes, a low double tone when one fails">
          Sound {sound.on ? 'on' : 'off'}
        </button>
        {header.configured &&
          (header.lineRunning ? (
            <button type="button" disabled={!mayChangeLine} title={mayChangeLine ? undefined : ENGINEER_ONLY} onClick={() => act('Stop line', (bridge) => bridge.stopLine())}>
              Stop line
            </button>
          ) : (
            <button type="button" className="primary" disabled={!mayChangeLine} title={mayChangeLine ? undefined : ENGINEER_ONLY} onClick={() => act('Start line', (bridge) => bridge.startLine())}>
              Start line
            </button>
          ))}
      </div>
      {header.configured && (
        <div className="figures">
          <div className="figure line-progress" title={`${progress.working} working, ${progress.waiting} waiting for a unit, ${progress.attention} need a person`}>
            <span className="label">Line</span>
            <div className="bar" role="progressbar" aria-label="Line progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(progress.fraction * 100)}>
              <div className="fill" style={{ width: `${Math.round(progress.fraction * 100)}%` }} />
            </div>
            <span className="detail" data-testid="line-progress">
              {progress.done + progress.attention} of {progress.ports} ports done · {progress.working} working
            </span>
          </div>
          <Figure label="Passed" value={String(shift.passed + shift.pending)} testId="passed" detail={shift.pending ? `${shift.pending} with cloud queued` : undefined} />
          <Figure label="Failed" value={String(shift.failed)} testId="failed" detail={shift.cancelled ? `${shift.cancelled} cancelled` : undefined} />
          <Figure label="First-pass yield" value={percent(shift.firstPassYield)} testId="first-pass-yield" />
          <Figure label="Final yield" value={percent(shift.finalYield)} testId="final-yield" />
          <Figure
            label="Units / hour"
            value={rate.unitsPerHour === undefined ? 'warming up' : String(rate.unitsPerHour)}
            testId="units-per-hour"
            detail={rate.warmingUp ? `warm-up: ${rate.units} unit${rate.units === 1 ? '' : 's'} in ${rate.minutesMeasured} of ${rate.windowMinutes} min` : `last ${rate.windowMinutes} min`}
          />
          <Figure label="Median per unit" value={shift.medianSeconds === undefined ? 'no units yet' : duration(shift.medianSeconds * 1000)} testId="median" />
          {header.line && <LineRun figures={header.line} />}
        </div>
      )}
    </div>
  );
}

function Figure({ label, value, detail, testId }: { label: string; value: string; detail?: string; testId: string }) {
  return (
    <div className="figure">
      <span className="label">{label}</span>
      <strong className="value" data-testid={testId}>
        {value}
      </strong>
      {detail && <span className="detail">{detail}</span>}
    </div>
  );
}

/** Since the line was last started, beside the shift's figures. */
function LineRun({ figures }: { figures: LineFigures }) {
  return (
    <div className="figure line-run" data-testid="line-run">
      <span className="label">Since line start</span>
      <span className="detail">
        {figures.units} unit{figures.units === 1 ? '' : 's'}: {figures.passed + figures.pending} passed, {figures.failed} failed
        {figures.firstPassYield !== undefined && ` · first pass ${percent(figures.firstPassYield)}`}
      </span>
    </div>
  );
}
