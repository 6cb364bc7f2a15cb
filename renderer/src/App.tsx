import { useCallback, useEffect, useState, type KeyboardEvent } from 'react';
import type { StationBridge } from '../../contract/station-contract.ts';
import { HeaderBar } from './components/HeaderBar.tsx';
import { HistoryPanel } from './components/HistoryPanel.tsx';
import { OperatorBar } from './components/OperatorBar.tsx';
import { PortTile, type Density } from './components/PortTile.tsx';
import { SettingsPanel } from './components/SettingsPanel.tsx';
import { errorText } from './format.ts';
import { useOutcomeSounds } from './sounds.ts';
import { useSession } from './use-session.ts';
import { useStation } from './use-station.ts';
import { useWedgeScans } from './use-wedge-scans.ts';

/** Up to 12 ports a tile has room for its steps; up to 32 it shows them while working; above, only slot, state, step and percentage, so 64 fit one screen. */
function densityFor(count: number): Density {
  return count <= 12 ? 'roomy' : count <= 32 ? 'regular' : 'dense';
}

/** Columns for a line of `count` ports: every tile on one 16:9 screen, four across for small lines, eight for large. */
function gridFor(count: number): { columns: number; rows: number } {
  const columns = count <= 4 ? Math.max(1, count) : count <= 12 ? 4 : 8;
  return { columns, rows: Math.max(1, Math.ceil(count / columns)) };
}

const TABS = [
  { id: 'line', label: 'Line' },
  { id: 'history', label: 'History' },
  { id: 'settings', label: 'Settings' },
] as const;
type TabId = (typeof TABS)[number]['id'];

/** The station's screen: the per-port queue first, history and settings after. */
export function App() {
  const { bridge, header, tiles, connectionProblem } = useStation();
  const sound = useOutcomeSounds(tiles);
  const density = densityFor(tiles.length);
  const grid = gridFor(tiles.length);
  const [tab, setTab] = useState<TabId>('line');
  const [problem, setProblem] = useState<string | undefined>();
  const [now, setNow] = useState(Date.now());
  const session = useSession(bridge, header !== undefined && connectionProblem === undefined, header?.engineerPinSet);
  const [scanned, setScanned] = useState<{ ok: boolean; message: string; at: number } | undefined>();
  const prompts = tiles.filter((tile) => tile.prompt && tile.state === 'working').length;

  // A scan with no field focused: the station hands it to the unit waiting for one, or says why not.
  useWedgeScans((text) => {
    bridge.answerOperator({ value: text }).then(
      ({ port }) => {
        const slot = tiles.find((tile) => tile.port === port)?.slot ?? port;
        setScanned({ ok: true, message: `Label ${text} scanned for slot ${slot}`, at: Date.now() });
      },
      (error: unknown) => setScanned({ ok: false, message: `Label ${text} not taken: ${errorText(error)}`, at: Date.now() }),
    );
  });
  // The newer of this screen's last wedge scan and the station's last serial-scanner scan.
  const lastScan = [scanned, header?.lastScan].filter((scan) => scan !== undefined).sort((a, b) => b.at - a.at)[0];

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const act = useCallback(
    (label: string, action: (bridge: StationBridge) => Promise<unknown>) => {
      action(bridge).then(
        () => setProblem(undefined),
        (error: unknown) => setProblem(`${label}: ${errorText(error)}`),
      );
    },
    [bridge],
  );

  // Arrow keys move between tabs, as the ARIA tabs pattern expects.
  const onTabKey = (event: KeyboardEvent) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (!step) return;
    const next = TABS[(TABS.findIndex((t) => t.id === tab) + step + TABS.length) % TABS.length]!;
    setTab(next.id);
    document.getElementById(`tab-${next.id}`)?.focus();
  };

  return (
    <div className={`app${tab === 'line' ? ' on-line' : ''}`}>
      {/* The header stays on screen whatever the line's size: only the panel below it scrolls. */}
      <header className="top">
        <div className="title-row">
          <h1>Provisioning Station</h1>
          <nav role="tablist" aria-label="Views" onKeyDown={onTabKey}>
            {TABS.map((t) => (
              <button key={t.id} id={`tab-${t.id}`} type="button" role="tab" aria-selected={tab === t.id} aria-controls={`panel-${t.id}`} tabIndex={tab === t.id ? 0 : -1} onClick={() => setTab(t.id)}>
                {t.label}
              </button>
            ))}
          </nav>
        </div>
        {header && <OperatorBar bridge={bridge} header={header} session={session} />}
        <HeaderBar header={header} now={now} sound={sound} act={act} mayChangeLine={session.mayChangeLine} />
        {lastScan && (
          <p role={lastScan.ok ? 'status' : 'alert'} className={`scan-notice ${lastScan.ok ? 'notice' : 'problem'}`} data-testid="scan-notice">
            {lastScan.message}
          </p>
        )}
        {(connectionProblem || header?.problem || problem) && (
          <div role="alert" className="problem">
            {connectionProblem && <p>{connectionProblem}</p>}
            {header?.problem && <p>{header.problem}</p>}
            {problem && <p>{problem}</p>}
          </div>
        )}
      </header>
      <main id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'line' && header && !header.configured && (
          <section className="first-run" aria-labelledby="first-run-title">
            <h2 id="first-run-title">No line is configured yet</h2>
            <p>Try the station with a simulated line (a local cloud emulator and four simulated units), or set up your cloud and ports.</p>
            <button
              type="button"
              className="primary"
              disabled={!session.mayChangeLine}
              title={session.mayChangeLine ? undefined : 'Needs the engineer: unlock in Settings'}
              onClick={() => act('Start the demo line', (b) => b.startDemo())}
            >
              Start the demo line
            </button>{' '}
            <button type="button" onClick={() => setTab('settings')}>
              Open settings
            </button>
          </section>
        )}
        {tab === 'line' && header?.configured && tiles.length === 0 && (
          <section className="first-run" aria-labelledby="no-ports-title">
            <h2 id="no-ports-title">This line has no ports</h2>
            <p>Add the line's serial ports, with their slot names, in Settings.</p>
            <button type="button" onClick={() => setTab('settings')}>
              Open settings
            </button>
          </section>
        )}
        {tab === 'line' && tiles.length > 0 && (
          <section
            className={`tiles ${density}`}
            aria-label="Ports"
            style={{ gridTemplateColumns: `repeat(${grid.columns}, minmax(0, 1fr))`, gridTemplateRows: `repeat(${grid.rows}, minmax(var(--tile-min), var(--tile-max)))` }}
          >
            {tiles.map((tile) => (
              <PortTile key={tile.port} bridge={bridge} tile={tile} onlyPrompt={prompts === 1} now={now} lineRunning={header?.lineRunning ?? false} density={density} act={act} />
            ))}
          </section>
        )}
        {tab === 'history' && <HistoryPanel bridge={bridge} />}
        {tab === 'settings' && <SettingsPanel bridge={bridge} session={session} />}
      </main>
    </div>
  );
}
