import { useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { ENGINEER_IDLE_MS, type Header, type StationBridge } from '../../../contract/station-contract.ts';
import { errorText } from '../format.ts';
import type { ScreenSessionState } from '../use-session.ts';
import { isPrintable, WedgeDetector } from '../wedge.ts';

interface Props {
  bridge: StationBridge;
  header: Header;
  session: ScreenSessionState;
}

/**
 * Who runs the line: the operator signs in by typing a name or scanning a
 * badge (a keyboard-wedge scan into the field), and is named here on every
 * screen. In operator mode it also says whether this screen is unlocked for
 * the engineer, and locks it again.
 */
export function OperatorBar({ bridge, header, session }: Props) {
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const detector = useRef(new WedgeDetector());
  const via = useRef<'typed' | 'badge'>('typed');

  const signIn = (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return;
    const how = via.current;
    via.current = 'typed';
    bridge.signIn({ name, via: how }).then(
      (next) => {
        session.update(next);
        setName('');
        setProblem(undefined);
      },
      (error: unknown) => setProblem(errorText(error)),
    );
  };
  // A badge scanned into the field is a wedge scan: it signs in by itself, and is recorded as a badge.
  const onKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (isPrintable(event)) detector.current.key(event.key, event.timeStamp);
    else if (event.key === 'Enter') via.current = detector.current.enter(event.timeStamp).kind === 'scan' ? 'badge' : 'typed';
  };
  const act = (call: () => Promise<unknown>) => () => void call().catch((error: unknown) => setProblem(errorText(error)));

  return (
    <div className="operator-bar" role="region" aria-label="Operator">
      {header.operator ? (
        <span className="operator" data-testid="operator">
          Operator: <strong>{header.operator.name}</strong>
          {header.operator.via === 'badge' ? ' (badge)' : ''}{' '}
          <button type="button" className="quiet" onClick={act(() => bridge.signOut().then(session.update))}>
            Sign out
          </button>
        </span>
      ) : (
        <form className="sign-in" onSubmit={signIn}>
          <label>
            Operator <input value={name} onChange={(event) => setName(event.target.value)} onKeyDown={onKey} placeholder="your name, or scan your badge" autoComplete="off" />
          </label>
          <button type="submit">Sign in</button>
        </form>
      )}
      {header.engineerPinSet && (
        <span className="engineer" data-testid="engineer">
          {session.session?.engineer ? (
            <>
              Engineer unlocked on this screen (locks itself after {ENGINEER_IDLE_MS / 60_000} min without a change){' '}
              <button type="button" className="quiet" onClick={act(() => bridge.lockEngineer().then(session.update))}>
                Lock
              </button>
            </>
          ) : (
            <>Operator mode: changing the line needs the engineer PIN (Settings)</>
          )}
        </span>
      )}
      {problem && (
        <span role="alert" className="problem-inline">
          {problem}
        </span>
      )}
    </div>
  );
}
