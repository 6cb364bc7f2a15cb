import { useCallback, useEffect, useRef, useState } from 'react';
import type { Tile, TileState } from '../../contract/station-contract.ts';

const STORAGE_KEY = 'station.sound';
/** A short high tone for a pass; two low tones for a unit that needs a person. */
const TONES: Partial<Record<TileState, Array<{ hz: number; at: number }>>> = {
  passed: [{ hz: 880, at: 0 }],
  failed: [
    { hz: 220, at: 0 },
    { hz: 220, at: 0.22 },
  ],
  attention: [
    { hz: 330, at: 0 },
    { hz: 220, at: 0.22 },
  ],
};

function play(context: AudioContext, state: TileState): void {
  for (const tone of TONES[state] ?? []) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    const start = context.currentTime + tone.at;
    oscillator.frequency.value = tone.hz;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.18);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(start);
    oscillator.stop(start + 0.2);
  }
}

/**
 * Optional sounds when a unit passes or fails (Web Audio), off until the
 * technician turns them on; the choice is remembered on this screen. The
 * audio context is made on that click, as browsers allow sound only after one.
 */
export function useOutcomeSounds(tiles: Tile[]): { on: boolean; toggle: () => void } {
  const [on, setOn] = useState(() => localStorage.getItem(STORAGE_KEY) === 'on');
  const context = useRef<AudioContext | undefined>(undefined);
  const previous = useRef<Map<string, TileState> | undefined>(undefined);

  const toggle = useCallback(() => {
    setOn((current) => {
      localStorage.setItem(STORAGE_KEY, current ? 'off' : 'on');
      return !current;
    });
    context.current ??= new AudioContext();
    void context.current.resume();
  }, []);

  useEffect(() => {
    const seen = previous.current;
    previous.current = new Map(tiles.map((tile) => [tile.port, tile.state]));
    // The first picture of the line is not news: only changes sound.
    if (!seen || !on) return;
    context.current ??= new AudioContext();
    const changed = new Set(tiles.filter((tile) => seen.get(tile.port) === 'working' && tile.state !== 'working').map((tile) => tile.state));
    for (const state of changed) play(context.current, state);
  }, [tiles, on]);

  return { on, toggle };
}
