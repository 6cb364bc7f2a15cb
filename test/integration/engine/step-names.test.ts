import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';

describe('one name for each step', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('a failed download says "step download" in its text, as failedStep does, not the cloud adapter\'s name for the call', async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['WORDS1'], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    cleanup.push(() => emulator.stop());
    emulator.addFault({ step: 'download', kind: 'status', status: 403, times: 100 });
    const sim = await startSimulatorOnPty({ serial: 'WORDS1' });
    cleanup.push(() => sim.stop());
    const station = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }), dataDir: mkdtempSync(join(tmpdir(), 'words-')) });
    cleanup.push(() => station.close());
    const [outcome] = await station.provisionOnce([sim.path]);
    expect(outcome).toMatchObject({ result: 'failed', failedStep: 'download' });
    expect(outcome!.error).toContain('step download:');
    expect(outcome!.error).not.toContain('downloadFirmware');
  });
});
