import { useEffect, useRef } from 'react';
import { isEditable, isPrintable, WedgeDetector } from './wedge.ts';

/**
 * Keyboard-wedge scans made while no field has the keyboard: a burst of keys
 * ending in Enter anywhere on the page is handed to `onScan` (the station
 * routes it to the unit waiting, or refuses it). A person typing is not a
 * scan, and keys in a field stay that field's. The Enter that ends a scan is
 * taken, so it cannot press a focused button.
 */
export function useWedgeScans(onScan: (text: string) => void): void {
  const latest = useRef(onScan);
  latest.current = onScan;
  useEffect(() => {
    const detector = new WedgeDetector();
    const onKey = (event: KeyboardEvent) => {
      if (isEditable(event.target)) {
        detector.reset();
        return;
      }
      if (isPrintable(event)) {
        detector.key(event.key, event.timeStamp);
        return;
      }
      if (event.key !== 'Enter') return;
      const result = detector.enter(event.timeStamp);
      if (result.kind !== 'scan') return;
      event.preventDefault();
      event.stopPropagation();
      latest.current(result.text);
    };
    document.addEventListener('keydown', onKey, true);
    return () => document.removeEventListener('keydown', onKey, true);
  }, []);
}
