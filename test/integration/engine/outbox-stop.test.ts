import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { Connectivity } from '../../../main/core/engine/connectivity.ts';
import { OutboxReplayer } from '../../../main/core/engine/outbox-replayer.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';
import { until } from '../../helpers/until.ts';

const UNITS = 200;
const serial = (n: number) => `THERM${String(n).padStart(14, '0')}`;

describe('the outbox replayer stopped with a backlog', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  let journal: Journal | undefined;
  afterEach(async () => {
    journal?.close();
    await emulator?.stop();
  });

  it('ends once the calls in flight are answered, leaving the rest queued (a station closing does not wait for the whole outbox)', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: Array.from({ length: UNITS }, (_, i) => serial(i + 1)), versions: [{ name: '1', firmware: { size: 1000 } }] }] });
    // Every activation takes a moment: the whole backlog takes seconds, a batch of 2 a fraction of one.
    emulator.addFault({ step: 'activate', kind: 'latency', ms: 40, times: UNITS });
    journal = Journal.open(join(mkdtempSync(join(tmpdir(), 'outbox-stop-')), 'journal.sqlite'), new SecretBox(randomBytes(32)));
    const adapter = new GadgetKeeperAdapter({ baseUrl: emulator.url });
    for (let i = 1; i <= UNITS; i++) {
      const unit = journal.startUnit(serial(i), '/dev/ttyACM0');
      journal.enqueue(unit.id, 'gadgetkeeper', 'activate', { serial: serial(i) }, adapter.account);
      journal.finishUnit(unit.id, 'pending');
    }
    const connectivity = new Connectivity({ probe: (signal) => adapter.probe({ signal }) });
    const replayer = new OutboxReplayer({ journal, adapter, connectivity, concurrency: 2 });
    replayer.start();
    await until(() => journal!.outboxCounts().done >= 2);
    await replayer.stop();
    const counts = journal.outboxCounts();
    // What was in flight when it stopped went through and is recorded; nothing more was sent.
    expect(counts['in-flight']).toBe(0);
    expect(counts.done).toBeLessThan(UNITS / 2);
    expect(counts.pending).toBe(UNITS - counts.done);
    expect(emulator.calls.get('activate')).toBe(counts.done);
    await adapter.close();
  });
});
