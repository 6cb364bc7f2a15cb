import { useCallback, useEffect, useState } from 'react';
import type { HistoryRow, StationBridge } from '../../../contract/station-contract.ts';
import { errorText } from '../format.ts';

/** Recorded units, searchable by serial number, exportable as CSV (never with credentials). */
export function HistoryPanel({ bridge }: { bridge: StationBridge }) {
  const [query, setQuery] = useState('');
  const [rows, setRows] = useState<HistoryRow[]>([]);
  const [problem, setProblem] = useState<string | undefined>();

  const search = useCallback(
    async (serial: string) => {
      try {
        setRows(await bridge.history({ serial: serial || undefined, limit: 500 }));
        setProblem(undefined);
      } catch (error) {
        setProblem(errorText(error));
      }
    },
    [bridge],
  );
  useEffect(() => {
    void search('');
  }, [search]);

  const exportCsv = async () => {
    try {
      const csv = await bridge.exportCsv({ serial: query || undefined });
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
      link.download = `station-history-${new Date().toISOString().slice(0, 10)}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      setProblem(errorText(error));
    }
  };

  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <form
        className="toolbar"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          void search(query);
        }}
      >
        <label>
          Serial number <input value={query} onChange={(event) => setQuery(event.target.value)} placeholder="part of a serial" />
        </label>
        <button type="submit">Search</button>
        <button type="button" onClick={() => void exportCsv()}>
          Export CSV
        </button>
      </form>
      {problem && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      <table>
        <caption>{rows.length} unit record(s), newest first</caption>
        <thead>
          <tr>
            <th scope="col">Serial</th>
            <th scope="col">Port</th>
            <th scope="col">Result</th>
            <th scope="col">Failed at</th>
            <th scope="col">Firmware</th>
            <th scope="col">Started</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id}>
              <td>{row.serial}</td>
              <td>{row.port}</td>
              <td>{row.result}</td>
              <td title={row.error}>{row.failedStep ?? ''}</td>
              <td>{row.versionId ?? ''}</td>
              <td>{new Date(row.startedAt).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
