import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAILURE_TEXT_MAX } from '../../../contract/station-contract.ts';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { dispatch } from '../../../main/core/desk/dispatch.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { dataFolder } from '../../../main/core/storage/data-folder.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

describe('History of a unit whose recorded failure is longer than the contract carries', () => {
  it('answers with the failure fitted to the limit, start and end kept, instead of refusing the whole answer', async () => {
    const key = randomBytes(32);
    const dataDir = mkdtempSync(join(tmpdir(), 'history-long-'));
    // A journal an earlier station wrote (or any other source of long text): 12000 characters of failure and of label problem.
    const journal = Journal.open(dataFolder(dataDir).journal, new SecretBox(key));
    const unit = journal.startUnit('UNIT-1', '/dev/ttyUSB0');
    const long = `step flash: ${'q'.repeat(12_000)} Set the unit aside.`;
    journal.finishUnit(unit.id, 'failed', { step: 'flash', error: long });
    journal.recordLabel(unit.id, { serial: 'UNIT-1' }, long);
    journal.close();

    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['UNIT-1'], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    cleanup.push(() => emulator.stop());
    const config = lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, ports: [] });
    const desk = new StationDesk({ dataDir, settings: { read: () => undefined, write: () => undefined }, secretKey: key, fixedConfig: { config, source: 'line.json' } });
    cleanup.push(() => desk.close(0));
    await desk.init();

    const answer = await dispatch(desk, 'history', [{}]);
    expect(answer).toMatchObject({ ok: true });
    const [row] = (answer as { value: Array<{ error?: string; labelProblem?: string }> }).value;
    for (const text of [row!.error!, row!.labelProblem!]) {
      expect(text.length).toBeLessThanOrEqual(FAILURE_TEXT_MAX);
      expect(text).toMatch(/^step flash: q+…q+ Set the unit aside\.$/);
    }
  });
});
