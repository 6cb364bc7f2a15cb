import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator, type GadgetKeeperEmulator } from '../../main/core/cloud/gadgetkeeper/emulator.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../main/core/simulator/simulator-hosts.ts';
import { runStation as station } from '../helpers/station-cli.ts';

function writeConfig(config: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'run-')), 'line.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

describe('station run', () => {
  let emulator: GadgetKeeperEmulator | undefined;
  const sims: PtySimulator[] = [];
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await emulator?.stop();
  });

  it('--once --json prints progress and one unit object per port, and exits 1 when a unit failed', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['THERM00000000000001'], versions: [{ name: '1', firmware: { size: 50_000 } }] }] });
    sims.push(await startSimulatorOnPty({ serial: 'THERM00000000000001', bootDelayMs: 20 }), await startSimulatorOnPty({ serial: 'THERM00000000000404', bootDelayMs: 20 }));
    const config = writeConfig({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, device: { profile: 'reference' }, ports: ['/dev/unused'] });
    const dataDir = mkdtempSync(join(tmpdir(), 'data-'));
    const result = await station(['run', '--config', config, '--port', sims[0]!.path, '--port', sims[1]!.path, '--once', '--json', '--data-dir', dataDir]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.some((line) => line.type === 'progress')).toBe(true);
    const units = lines.filter((line) => line.type === 'unit');
    expect(units).toHaveLength(2);
    expect(units.find((u) => u.serial === 'THERM00000000000001')).toMatchObject({ result: 'passed', port: sims[0]!.path, thingId: expect.any(String), versionId: expect.any(String), failedStep: null, error: null });
    expect(units.find((u) => u.serial === 'THERM00000000000404')).toMatchObject({ result: 'failed', failedStep: 'activate', error: expect.stringContaining('is not registered with this product (GadgetKeeper answered 404)') });
    expect((units[0]!.steps as Record<string, number>).identify).toEqual(expect.any(Number));
    // Nothing secret on stdout.
    expect(result.stdout).not.toContain(emulator.state.thingsBySerial.get('THERM00000000000001')!.apiKey);
  });

  it('exits 0 when every unit passed, with a human summary', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['THERM00000000000001'], versions: [{ name: '1', firmware: { size: 10_000 } }] }] });
    sims.push(await startSimulatorOnPty({ serial: 'THERM00000000000001', bootDelayMs: 20 }));
    const config = writeConfig({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, ports: [sims[0]!.path] });
    const result = await station(['run', '--config', config, '--once', '--data-dir', mkdtempSync(join(tmpdir(), 'data-'))]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PASSED');
    expect(result.stdout).toContain('1 passed, 0 failed');
  });

  it('exits 3 when no unit failed but some wait for the cloud, and says so in the summary', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['THERM00000000000001', 'THERM00000000000002'], versions: [{ name: '1', firmware: { size: 10_000 } }] }] });
    sims.push(await startSimulatorOnPty({ serial: 'THERM00000000000001', bootDelayMs: 20 }), await startSimulatorOnPty({ serial: 'THERM00000000000002', bootDelayMs: 20 }));
    const config = writeConfig({ cloud: { backend: 'gadgetkeeper', url: emulator.url, timeoutMs: 2000 } });
    const dataDir = mkdtempSync(join(tmpdir(), 'data-'));
    // Online first: the station learns the target and caches the firmware.
    expect((await station(['run', '--config', config, '--once', '--port', sims[0]!.path, '--data-dir', dataDir])).code).toBe(0);
    emulator.setOffline(true);
    const offline = await station(['run', '--config', config, '--once', '--port', sims[1]!.path, '--data-dir', dataDir]);
    expect(offline.stdout).toContain('0 passed, 0 failed, 1 passed with cloud calls waiting in the outbox');
    expect(offline.code).toBe(3);
  });

  it('reads a secret given as {"file": …} beside the configuration, not in the folder the station is started from', async () => {
    emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['THERM00000000000001'], versions: [{ name: '1', firmware: { size: 10_000 } }] }] });
    sims.push(await startSimulatorOnPty({ serial: 'THERM00000000000001', bootDelayMs: 20 }));
    const config = writeConfig({ cloud: { backend: 'gadgetkeeper', url: emulator.url, productKey: { file: 'product.key' } }, ports: [sims[0]!.path] });
    writeFileSync(join(dirname(config), 'product.key'), 'PK-FROM-FILE-0123456789\n', { mode: 0o600 });
    // This test's process (and the station's) runs in the repository, not in the configuration's folder.
    expect(dirname(config)).not.toBe(process.cwd());
    const result = await station(['run', '--config', config, '--once', '--data-dir', mkdtempSync(join(tmpdir(), 'data-'))]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('1 passed, 0 failed');
    expect(`${result.stdout}${result.stderr}`).not.toContain('PK-FROM-FILE');
  });

  it('exits 2 and names the field for a bad configuration', async () => {
    const config = writeConfig({ cloud: { backend: 'gadgetkeeper', url: 'nope' }, ports: [] });
    const result = await station(['run', '--config', config, '--once']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cloud.url');
  });

  it('exits 2 without --config', async () => {
    expect((await station(['run', '--once'])).code).toBe(2);
  });
});

describe('station history', () => {
  it('exports units as CSV and JSON, filters by serial, and never exports credentials', async () => {
    const { Journal } = await import('../../main/core/storage/journal.ts');
    const { SecretBox, loadOrCreateKeyFile } = await import('../../main/core/storage/secret-box.ts');
    const dataDir = mkdtempSync(join(tmpdir(), 'hist-'));
    const journal = Journal.open(join(dataDir, 'journal.sqlite'), new SecretBox(await loadOrCreateKeyFile(dataDir)));
    const a = journal.startUnit('SN-A', '/dev/ttyACM0', { slot: 'A1', operator: 'Ada', stationId: 'station-7', configHash: 'c'.repeat(64) });
    journal.storeCredentials(a.id, { thingId: 't'.repeat(32), apiKey: 'k'.repeat(32), account: 'gadgetkeeper https://api.gadgetkeeper.com' }, 'written');
    journal.setAttemptFirmware(a.id, 'f'.repeat(64));
    journal.recordLabel(a.id, { serial: 'SN-A' }, 'label not printed: the printer at 10.0.0.9:9100 could not be reached');
    journal.finishUnit(a.id, 'passed');
    const b = journal.startUnit('SN-B', '/dev/ttyACM1');
    journal.finishUnit(b.id, 'failed', { step: 'flash', error: 'port /dev/ttyACM1, step flash: the device was unplugged, "really"' });
    journal.close();

    const csv = await station(['history', '--data-dir', dataDir]);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split('\r\n');
    expect(lines[0]).toBe(
      'id,unitId,attempt,serial,port,slot,result,failedStep,error,thingId,versionId,credentialsState,startedAt,finishedAt,seconds,operator,stationId,configHash,firmwareSha256,label,labelProblem',
    );
    expect(lines[2]).toMatch(new RegExp(`,Ada,station-7,${'c'.repeat(64)},${'f'.repeat(64)},not printed,label not printed: the printer at 10\\.0\\.0\\.9:9100 could not be reached$`));
    expect(lines[1]).toContain('SN-B,/dev/ttyACM1,,failed,flash,"port /dev/ttyACM1, step flash: the device was unplugged, ""really"""');
    expect(csv.stdout).not.toContain('k'.repeat(32));

    const json = await station(['history', '--format', 'json', '--serial', 'SN-A', '--data-dir', dataDir]);
    const units = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(units).toHaveLength(1);
    expect(units[0]).toMatchObject({ serial: 'SN-A', result: 'passed', credentialsState: 'written', failedStep: null, operator: 'Ada', stationId: 'station-7', configHash: 'c'.repeat(64), firmwareSha256: 'f'.repeat(64), label: 'not printed' });
    expect(json.stdout).not.toContain('k'.repeat(32));
  });
});

describe('station history --demo', () => {
  it('reads the demo line\'s journal through its data folder, and points there when asked for the demo folder itself', async () => {
    const { Journal } = await import('../../main/core/storage/journal.ts');
    const { SecretBox, loadOrCreateKeyFile } = await import('../../main/core/storage/secret-box.ts');
    const { dataFolder } = await import('../../main/core/storage/data-folder.ts');
    const dataDir = mkdtempSync(join(tmpdir(), 'hist-demo-'));
    const key = await loadOrCreateKeyFile(dataDir);
    // The real line's journal and the demo line's, sealed with the folder's one key as the desk does.
    const real = Journal.open(dataFolder(dataDir).journal, new SecretBox(key));
    real.finishUnit(real.startUnit('SN-REAL', '/dev/ttyACM0').id, 'passed');
    real.close();
    mkdirSync(dataFolder(dataDir).demo, { recursive: true });
    const demo = Journal.open(dataFolder(dataFolder(dataDir).demo).journal, new SecretBox(key));
    demo.finishUnit(demo.startUnit('SN-DEMO', '/dev/pts/9').id, 'failed', { step: 'flash', error: 'unplugged' });
    demo.close();

    const demoHistory = await station(['history', '--demo', '--format', 'json', '--data-dir', dataDir]);
    expect(demoHistory.code).toBe(0);
    expect((JSON.parse(demoHistory.stdout) as Array<{ serial: string }>).map((row) => row.serial)).toEqual(['SN-DEMO']);
    const realHistory = await station(['history', '--format', 'json', '--data-dir', dataDir]);
    expect((JSON.parse(realHistory.stdout) as Array<{ serial: string }>).map((row) => row.serial)).toEqual(['SN-REAL']);

    const wrongFolder = await station(['history', '--data-dir', dataFolder(dataDir).demo]);
    expect(wrongFolder.code).toBe(2);
    expect(wrongFolder.stderr).toContain(`This is the demo line's journal inside the data folder ${dataDir}: read it with --demo --data-dir ${dataDir}.`);
  });
});

describe('station outbox', () => {
  it('lists the calls an offline batch left, and replays them against the cloud the station last used', async () => {
    const { Station } = await import('../../main/core/engine/station.ts');
    const { lineConfigSchema } = await import('../../main/core/config/line-config.ts');
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['THERM00000000000001', 'THERM00000000000002'], versions: [{ name: '1', firmware: { size: 5000 } }] }] });
    const sims = [await startSimulatorOnPty({ serial: 'THERM00000000000001', bootDelayMs: 20 }), await startSimulatorOnPty({ serial: 'THERM00000000000002', bootDelayMs: 20 })];
    const dataDir = mkdtempSync(join(tmpdir(), 'outbox-'));
    try {
      const engine = await Station.open({ config: lineConfigSchema.parse({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }), dataDir, autoReplay: false });
      await engine.provisionOnce([sims[0]!.path]);
      emulator.setOffline(true);
      expect((await engine.provisionOnce([sims[1]!.path]))[0]!.result).toBe('pending');
      await engine.close();

      const list = await station(['outbox', 'list', '--json', '--data-dir', dataDir]);
      expect(list.code).toBe(0);
      const entries = list.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(entries.map((e) => [e.serial, e.call, e.state])).toEqual([
        ['THERM00000000000002', 'activate', 'pending'],
        ['THERM00000000000002', 'confirm', 'pending'],
      ]);

      // Still offline: replay leaves them pending and says so with its exit status.
      expect((await station(['outbox', 'replay', '--data-dir', dataDir])).code).toBe(3);
      emulator.setOffline(false);
      const replay = await station(['outbox', 'replay', '--data-dir', dataDir]);
      expect(replay.code).toBe(0);
      expect(replay.stdout).toContain('replayed 2 call(s)');
      expect(replay.stdout).toContain('the outbox is empty');
      expect(emulator.state.thingsBySerial.get('THERM00000000000002')?.currentVersionId).toBeDefined();
    } finally {
      await Promise.all(sims.map((sim) => sim.stop()));
      await emulator.stop();
    }
  });
});

