import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';
import { useCleanup } from '../../helpers/cleanup.ts';

const SERIAL = 'ROLLBACK0001';

describe('a unit whose new image does not start', () => {
  const cleanup = useCleanup();

  async function lineWith(oldVersion: string) {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: [SERIAL], versions: [{ name: '2.0', firmware: { size: 8192 } }] }] });
    cleanup.push(() => emulator.stop());
    const sim = await startSimulatorOnPty({ serial: SERIAL, version: oldVersion, bootDelayMs: 20, faults: { newImageFailsToBoot: true } });
    cleanup.push(() => sim.stop());
    const station = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }), dataDir: mkdtempSync(join(tmpdir(), 'rollback-')) });
    cleanup.push(() => station.close());
    return { emulator, sim, station };
  }

  it('fails at reboot saying which version booted, and the cloud is never told the new one', { timeout: 60_000 }, async () => {
    const { emulator, sim, station } = await lineWith('1.0');
    const [outcome] = await station.provisionOnce([sim.path]);
    expect(outcome).toMatchObject({ result: 'failed', failedStep: 'reboot' });
    const target = outcome!.versionId!;
    expect(outcome!.error).toContain(`the unit booted version 1.0, not ${target}`);
    expect(sim.simulator.flashCount).toBe(1);
    expect(emulator.calls.get('confirm') ?? 0).toBe(0);
  });

  it('quotes a banner version of a whole line as a short excerpt', { timeout: 60_000 }, async () => {
    const { sim, station } = await lineWith(`v${'9'.repeat(200)}`);
    const [outcome] = await station.provisionOnce([sim.path]);
    expect(outcome).toMatchObject({ result: 'failed', failedStep: 'reboot' });
    expect(outcome!.error).toMatch(/the unit booted version v9{62}…, not /);
  });
});
