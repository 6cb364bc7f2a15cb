import { useCallback, useEffect, useState } from 'react';
import type { SessionView, StationBridge } from '../../contract/station-contract.ts';

export interface ScreenSessionState {
  session: SessionView | undefined;
  /** The answer of a session call (sign in, unlock…) is the session from then on. */
  update: (session: SessionView) => void;
  /** Operator mode is off, or this screen is unlocked: it may change the line. */
  mayChangeLine: boolean;
}

/**
 * This screen's session with the station: who is signed in, and whether
 * this screen was unlocked with the engineer PIN. The PIN itself is never
 * kept here: the station remembers the unlock for this connection, so it is
 * asked again (locked) whenever the connection is new, and once the unlock
 * has gone unused long enough to lock itself.
 */
export function useSession(bridge: StationBridge, connected: boolean, engineerPinSet: boolean | undefined): ScreenSessionState {
  const [session, setSession] = useState<SessionView | undefined>();
  const refresh = useCallback(() => {
    bridge.session().then(setSession, () => undefined);
  }, [bridge]);
  // Asked again on every (re)connection, and when operator mode is switched on or off.
  useEffect(() => {
    if (connected) refresh();
  }, [connected, engineerPinSet, refresh]);
  // An unlocked screen locks itself on the station after a while without a change to the line: ask again then, so it shows.
  const locksInMs = session?.engineer ? session.engineerLocksInMs : undefined;
  useEffect(() => {
    if (locksInMs === undefined) return;
    const timer = setTimeout(refresh, locksInMs + 1000);
    return () => clearTimeout(timer);
  }, [session, locksInMs, refresh]);
  const pinSet = engineerPinSet ?? session?.engineerPinSet ?? false;
  return { session, update: setSession, mayChangeLine: !pinSet || session?.engineer === true };
}
