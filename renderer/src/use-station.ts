import { useEffect, useMemo, useRef, useState } from 'react';
import type { Header, Snapshot, StationBridge, Tile, Update } from '../../contract/station-contract.ts';
import { connectStation } from './transport.ts';

export interface StationState {
  bridge: StationBridge;
  header: Header | undefined;
  tiles: Tile[];
  /** Set while the screen has no live connection to the station. */
  connectionProblem: string | undefined;
}

/**
 * The live line: a snapshot, then tile and header updates. Updates are
 * applied once per animation frame, so 32 busy ports re-render the page at
 * most at the display's rate, not once per message.
 */
export function useStation(): StationState {
  const bridge = useMemo(connectStation, []);
  const [snapshot, setSnapshot] = useState<Snapshot | undefined>();
  const [connectionProblem, setConnectionProblem] = useState<string | undefined>();
  const queue = useRef<Update[]>([]);

  useEffect(() => {
    let frame = 0;
    const flush = () => {
      frame = 0;
      const updates = queue.current.splice(0);
      setSnapshot((current) => updates.reduce(applyUpdate, current));
    };
    const stop = bridge.onUpdate((update) => {
      if (update.type === 'connection') {
        setConnectionProblem(update.connected ? undefined : (update.problem ?? 'The connection to the station was lost. Reconnecting…'));
        return;
      }
      queue.current.push(update);
      frame ||= requestAnimationFrame(flush);
    });
    // The first snapshot may have been sent before this page listened.
    bridge.snapshot().then(
      (first) => setSnapshot((current) => current ?? first),
      (error: unknown) => setConnectionProblem(error instanceof Error ? error.message : String(error)),
    );
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
  }, [bridge]);

  return { bridge, header: snapshot?.header, tiles: snapshot?.tiles ?? [], connectionProblem };
}

function applyUpdate(current: Snapshot | undefined, update: Update): Snapshot | undefined {
  if (update.type === 'snapshot') return update.snapshot;
  if (!current || update.type === 'connection') return current;
  if (update.type === 'header') return { ...current, header: update.header };
  const index = current.tiles.findIndex((tile) => tile.port === update.tile.port);
  const tiles = index < 0 ? [...current.tiles, update.tile] : current.tiles.map((tile, i) => (i === index ? update.tile : tile));
  return { ...current, tiles };
}
