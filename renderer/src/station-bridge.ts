import type { StationBridge } from '../../preload/contract.ts';

declare global {
  interface Window {
    station?: StationBridge;
  }
}

/** The transport-neutral API the UI uses; undefined when the page runs outside the station. */
export function stationBridge(): StationBridge | undefined {
  return window.station;
}
