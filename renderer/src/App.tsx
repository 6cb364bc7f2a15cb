import { useCallback, useEffect, useState } from 'react';
import type { PortList } from '../../preload/contract.ts';
import { stationBridge } from './station-bridge.ts';

/** Detected serial ports, so a technician can see at once which ports the station can use. */
export function App() {
  const [list, setList] = useState<PortList | undefined>();
  const [error, setError] = useState<string | undefined>();

  const refresh = useCallback(async () => {
    const bridge = stationBridge();
    if (!bridge) {
      setError('This page is not connected to a station.');
      return;
    }
    try {
      setList(await bridge.listPorts());
      setError(undefined);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return (
    <main>
      <header>
        <h1>Provisioning Station</h1>
        <button type="button" onClick={() => void refresh()}>
          Rescan ports
        </button>
      </header>
      {error && (
        <p role="alert" className="problem">
          {error}
        </p>
      )}
      {list?.problem && (
        <p role="status" className="problem">
          {list.problem}
        </p>
      )}
      <table aria-label="Detected serial ports">
        <thead>
          <tr>
            <th scope="col">Port</th>
            <th scope="col">USB VID:PID</th>
            <th scope="col">Maker</th>
            <th scope="col">USB serial</th>
          </tr>
        </thead>
        <tbody>
          {list?.ports.length === 0 && (
            <tr>
              <td colSpan={4}>No serial ports detected. Plug a unit in, then rescan.</td>
            </tr>
          )}
          {list?.ports.map((port) => (
            <tr key={port.path}>
              <td>{port.path}</td>
              <td>{port.vendorId ? `${port.vendorId}:${port.productId ?? '????'}` : '—'}</td>
              <td>{port.manufacturer ?? '—'}</td>
              <td>{port.serialNumber ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
