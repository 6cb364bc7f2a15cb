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
 * most at the display's rate, not once per message. Until that frame only
 * the latest of each is kept: a page that is not drawn (a minimised window,
 * a background tab) gets no frames for hours, and must not hold every
 * update of them.
 */
export function useStation(): StationState {
  const bridge = useMemo(connectStation, []);
  const [snapshot, setSnapshot] = useState<Snapshot | undefined>();
  const [connectionProblem, setConnectionProblem] = useState<string | undefined>();
  const pending = useRef<PendingUpdates>(noUpdates());

  useEffect(() => {
    let frame = 0;
    const flush = () => {
      frame = 0;
      const updates = pending.current;
      pending.current = noUpdates();
      setSnapshot((current) => applyPending(current, updates));
    };
    const stop = bridge.onUpdate((update) => {
      if (update.type === 'connection') {
        setConnectionProblem(update.connected ? undefined : (update.problem ?? 'The connection to the station was lost. Reconnecting…'));
        return;
      }
      keepLatest(pending.current, update);
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

/** What arrived since the last frame, the latest of each: a whole snapshot, the header, each port's tile (in arrival order). */
interface PendingUpdates {
  snapshot?: Snapshot;
  header?: Header;
  tiles: Map<string, Tile>;
}

function noUpdates(): PendingUpdates {
  return { tiles: new Map() };
}

/** Keeps `update` in place of what it supersedes: a snapshot replaces everything before it. */
function keepLatest(pending: PendingUpdates, update: Update): void {
  if (update.type === 'snapshot') {
    pending.snapshot = update.snapshot;
    pending.header = undefined;
    pending.tiles.clear();
  } else if (update.type === 'header') {
    pending.header = update.header;
  } else if (update.type === 'tile') {
    // A Map keeps a port where it first came, as applying the updates in turn would place a new port's tile.
    pending.tiles.set(update.tile.port, update.tile);
  }
}

function applyPending(current: Snapshot | undefined, pending: PendingUpdates): Snapshot | undefined {
  let next = pending.snapshot ?? current;
  if (!next) return next;
  if (pending.header) next = { ...next, header: pending.header };
  if (pending.tiles.size === 0) return next;
  const tiles = next.tiles.map((tile) => pending.tiles.get(tile.port) ?? tile);
  for (const [port, tile] of pending.tiles) if (!next.tiles.some((known) => known.port === port)) tiles.push(tile);
  return { ...next, tiles };
}
