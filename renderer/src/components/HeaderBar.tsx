import type { Header, StationBridge } from '../../../contract/station-contract.ts';

interface Props {
  header: Header | undefined;
  act: (label: string, action: (bridge: StationBridge) => Promise<unknown>) => void;
}

/** The shift at a glance: cloud, outbox, counts, yield and rate; and the line's start/stop. */
export function HeaderBar({ header, act }: Props) {
  if (!header) return <p className="header-bar">Connecting to the station…</p>;
  return (
    <div className="header-bar" role="region" aria-label="Line status">
      <span className={`cloud ${header.online ? 'online' : 'offline'}`} role="status">
        <span aria-hidden="true">{header.online ? '●' : '○'}</span> Cloud {header.online ? 'online' : 'offline'}
      </span>
      <span className="stat">
        Outbox <strong data-testid="outbox">{header.outboxPending}</strong>
        <button type="button" disabled={!header.configured || header.outboxPending === 0} onClick={() => act('Replay now', (bridge) => bridge.replayOutbox())}>
          Replay now
        </button>
      </span>
      <span className="stat">
        Passed <strong data-testid="passed">{header.passed}</strong>
      </span>
      <span className="stat">
        Failed <strong data-testid="failed">{header.failed}</strong>
      </span>
      <span className="stat">
        Yield <strong>{header.yield === undefined ? '—' : `${Math.round(header.yield * 100)} %`}</strong>
      </span>
      <span className="stat">
        Units/h <strong>{header.unitsPerHour || '—'}</strong>
      </span>
      {header.demo && <span className="demo-badge">Demo line</span>}
      {header.demoInMemory && (
        <span className="demo-badge demo-in-memory" role="status" data-testid="demo-in-memory" title={header.demoInMemory}>
          Units in memory, not on ptys: {header.demoInMemory}
        </span>
      )}
      {header.configured &&
        (header.lineRunning ? (
          <button type="button" onClick={() => act('Stop line', (bridge) => bridge.stopLine())}>
            Stop line
          </button>
        ) : (
          <button type="button" className="primary" onClick={() => act('Start line', (bridge) => bridge.startLine())}>
            Start line
          </button>
        ))}
    </div>
  );
}
