import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { HistoryQuery, HistoryRow, StationBridge } from '../../../contract/station-contract.ts';
import { duration, errorText, STEP_LABELS } from '../format.ts';

const RESULTS: Record<HistoryRow['result'], { icon: string; words: string }> = {
  passed: { icon: '✓', words: 'passed' },
  pending: { icon: '☁', words: 'passed, cloud queued' },
  failed: { icon: '✗', words: 'failed' },
  cancelled: { icon: '⊘', words: 'cancelled' },
  'in-progress': { icon: '▶', words: 'in progress' },
};

/** The most attempts History lists at once; the export has them all. */
const SHOWN_MAX = 500;

interface Filter {
  serial: string;
  result: '' | HistoryRow['result'];
  port: string;
  from: string;
  to: string;
}

/** Everything traceability records of an attempt, in full, for the cell's tooltip. */
function traceTitle(row: HistoryRow): string | undefined {
  const parts = [row.stationId && `station ${row.stationId}`, row.configHash && `configuration SHA-256 ${row.configHash}`, row.firmwareSha256 && `firmware SHA-256 ${row.firmwareSha256}`].filter(Boolean);
  return parts.length ? parts.join('\n') : undefined;
}

/** A date field's day as epoch ms at local midnight; `to` includes its whole day. */
function toQuery(filter: Filter): Omit<HistoryQuery, 'limit'> {
  const day = (value: string, plusDays = 0) => {
    const [y, m, d] = value.split('-').map(Number);
    return new Date(y!, m! - 1, d! + plusDays).getTime();
  };
  return {
    ...(filter.serial.trim() ? { serial: filter.serial.trim() } : {}),
    ...(filter.result ? { result: filter.result } : {}),
    ...(filter.port.trim() ? { port: filter.port.trim() } : {}),
    ...(filter.from ? { from: day(filter.from) } : {}),
    ...(filter.to ? { to: day(filter.to, 1) } : {}),
  };
}

/** A short word in the table that opens to the whole reason behind it (why, and what to do), by mouse, keyboard or screen reader. */
function Reason({ summary, reason }: { summary: string; reason: string | undefined }) {
  if (!reason || !summary) return <>{summary}</>;
  return (
    <details className="reason">
      <summary>{summary}</summary>
      <p>{reason}</p>
    </details>
  );
}

/** Every try of every unit (a retry is the unit's next attempt), filtered by serial, result, port or slot and dates; exportable as CSV, never with credentials. */
export function HistoryPanel({ bridge }: { bridge: StationBridge }) {
  const [filter, setFilter] = useState<Filter>({ serial: '', result: '', port: '', from: '', to: '' });
  const [rows, setRows] = useState<HistoryRow[]>([]);
  /** The search found more attempts than are listed. */
  const [more, setMore] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();

  const search = useCallback(
    async (query: Omit<HistoryQuery, 'limit'>) => {
      try {
        // One more than is listed, to know whether there are more: the count shown is never a cut-off taken for the total.
        const found = await bridge.history({ ...query, limit: SHOWN_MAX + 1 });
        setRows(found.slice(0, SHOWN_MAX));
        setMore(found.length > SHOWN_MAX);
        setProblem(undefined);
      } catch (error) {
        setProblem(errorText(error));
      }
    },
    [bridge],
  );
  useEffect(() => {
    void search({});
  }, [search]);

  const exportAs = async (format: 'csv' | 'json') => {
    try {
      const text = format === 'csv' ? await bridge.exportCsv(toQuery(filter)) : await bridge.exportJson(toQuery(filter));
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/json' }));
      link.download = `station-history-${new Date().toISOString().slice(0, 10)}.${format}`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      setProblem(errorText(error));
    }
  };
  const reprint = async (row: HistoryRow) => {
    try {
      await bridge.reprintLabel(row.id);
      setProblem(undefined);
      setNotice(`The label of ${row.serial} (attempt ${row.attempt}) went to the printer.`);
      await search(toQuery(filter));
    } catch (error) {
      setNotice(undefined);
      setProblem(errorText(error));
    }
  };
  const set = (key: keyof Filter) => (event: { target: { value: string } }) => setFilter({ ...filter, [key]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void search(toQuery(filter));
  };

  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <form className="toolbar" role="search" onSubmit={submit}>
        <label>
          Serial number <input value={filter.serial} onChange={set('serial')} placeholder="part of a serial" />
        </label>
        <label>
          Result
          <select value={filter.result} onChange={set('result')}>
            <option value="">Any</option>
            <option value="passed">Passed</option>
            <option value="pending">Passed, cloud queued</option>
            <option value="failed">Failed</option>
            <option value="cancelled">Cancelled</option>
            <option value="in-progress">In progress</option>
          </select>
        </label>
        <label>
          Port or slot <input value={filter.port} onChange={set('port')} placeholder="A3 or /dev/ttyACM3" />
        </label>
        <label>
          From <input type="date" value={filter.from} onChange={set('from')} />
        </label>
        <label>
          To <input type="date" value={filter.to} onChange={set('to')} />
        </label>
        <button type="submit">Search</button>
        <button type="button" onClick={() => void exportAs('csv')}>
          Export CSV
        </button>
        <button type="button" onClick={() => void exportAs('json')}>
          Export JSON
        </button>
      </form>
      {problem && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      <table>
        <caption>
          {more ? `The newest ${rows.length} attempts; there are more: narrow the search, or export them all` : `${rows.length} attempt(s)`}, newest first; a retried unit has one row per try
        </caption>
        <thead>
          <tr>
            <th scope="col">Result</th>
            <th scope="col">Serial</th>
            <th scope="col">Attempt</th>
            <th scope="col">Slot</th>
            <th scope="col">Port</th>
            <th scope="col">Failed at</th>
            <th scope="col">Duration</th>
            <th scope="col">Firmware</th>
            <th scope="col">Started</th>
            <th scope="col">Operator</th>
            <th scope="col" title="The station, the line configuration's SHA-256 (secrets left out) and the firmware's SHA-256">
              Traceability
            </th>
            <th scope="col">Label</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} data-result={row.result}>
              <td className={`result-${row.result}`}>
                <span aria-hidden="true">{RESULTS[row.result].icon}</span> {RESULTS[row.result].words}
              </td>
              <td className="serial">{row.serial || '(no serial read)'}</td>
              <td className="num">{row.attempt}</td>
              <td>{row.slot ?? ''}</td>
              <td>{row.port}</td>
              <td>
                <Reason summary={row.failedStep ? (STEP_LABELS[row.failedStep] ?? row.failedStep) : ''} reason={row.error} />
              </td>
              <td className="num">{row.finishedAt === undefined ? '' : duration(row.finishedAt - row.startedAt)}</td>
              <td>{row.versionId ?? ''}</td>
              <td>{new Date(row.startedAt).toLocaleString()}</td>
              <td>{row.operator ?? ''}</td>
              <td className="trace" title={traceTitle(row)}>
                {row.stationId ?? ''}
                {row.configHash && <> · cfg {row.configHash.slice(0, 8)}</>}
                {row.firmwareSha256 && <> · fw {row.firmwareSha256.slice(0, 8)}</>}
              </td>
              <td className={row.label === 'not printed' ? 'label-problem' : undefined}>
                <Reason summary={row.label ?? ''} reason={row.labelProblem} />{' '}
                {row.label && (
                  <button type="button" className="quiet" onClick={() => void reprint(row)}>
                    Reprint
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
