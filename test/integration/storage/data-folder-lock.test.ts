import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../../main/core/cloud/gadgetkeeper/emulator.ts';
import { DataFolderLock, dataFolder } from '../../../main/core/storage/data-folder.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { loadOrCreateKeyFile, SecretBox } from '../../../main/core/storage/secret-box.ts';
import { until } from '../../helpers/until.ts';
import { smallDisk } from '../../helpers/small-disk.ts';
import { StationError } from '../../../main/core/errors.ts';
import { runStation as station } from '../../helpers/station-cli.ts';

describe('one writer per data folder', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('a second writer is refused with the holder named; releasing (or dying) frees the folder', async () => {
    const folder = dataFolder(mkdtempSync(join(tmpdir(), 'lock-')));
    const first = DataFolderLock.acquire(folder);
    expect(() => DataFolderLock.acquire(folder)).toThrow(`in use by another station process (pid ${process.pid})`);
    first.release();
    DataFolderLock.acquire(folder).release();

    // A holder killed with SIGKILL leaves no stale lock: the OS drops it with the process.
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `
      const { DataFolderLock, dataFolder } = await import(${JSON.stringify(new URL('../../../main/core/storage/data-folder.ts', import.meta.url).href)});
      globalThis.held = DataFolderLock.acquire(dataFolder(${JSON.stringify(folder.dir)}));
      console.log('held');
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    expect(() => DataFolderLock.acquire(folder)).toThrow(`(pid ${holder.pid})`);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    DataFolderLock.acquire(folder).release();
  });

  it('a full disk at the start says so, and leaves the folder free for a start once there is room', () => {
    const disk = smallDisk();
    cleanup.push(() => disk.unmount());
    const folder = dataFolder(join(disk.dir, 'data'));
    DataFolderLock.acquire(folder).release();
    disk.fill();
    cleanup.push(() => disk.free());
    let error: unknown;
    try {
      DataFolderLock.acquire(folder).release();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StationError);
    expect((error as StationError).describe()).toMatch(new RegExp(`${folder.dir}.*no space left.*Free space`));
    disk.free();
    // Room again: the same process (a station serve, the app) opens the folder, not refused as "in use" by itself.
    DataFolderLock.acquire(folder).release();
  });

  it('two "station outbox replay" at once on one folder: the second is refused, and no serial is activated twice', { timeout: 60_000 }, async () => {
    const serials = Array.from({ length: 40 }, (_, i) => `LOCK${String(i).padStart(4, '0')}`);
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'L', serialNumbers: serials, versions: [{ name: '1', firmware: { size: 1000 } }] }] });
    cleanup.push(() => emulator.stop());
    // Slow activations keep the first replay busy long enough for the second to start meanwhile.
    emulator.addFault({ step: 'activate', kind: 'latency', ms: 150, times: 1000 });
    const dir = mkdtempSync(join(tmpdir(), 'replays-'));
    const dataDir = join(dir, 'data');
    const journal = Journal.open(dataFolder(dataDir).journal, new SecretBox(await loadOrCreateKeyFile(dataDir)));
    for (const serial of serials) {
      const unit = journal.startUnit(serial, '/dev/ttyACM0');
      journal.enqueue(unit.id, 'gadgetkeeper', 'activate', {});
      journal.finishUnit(unit.id, 'pending');
    }
    journal.close();
    const config = join(dir, 'line.json');
    writeFileSync(config, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: emulator.url } }));

    const args = ['outbox', 'replay', '--config', config, '--data-dir', dataDir];
    // The second starts once the first holds the folder (its pid file is there), however slowly each process starts.
    const first = station(args);
    await until(() => existsSync(dataFolder(dataDir).lockOwner), 30_000);
    const [a, b] = await Promise.all([first, station(args)]);
    const refused = [a, b].filter((run) => run.code !== 0);
    expect(refused, `${a.stderr}\n${b.stderr}`).toHaveLength(1);
    expect(refused[0]!.stderr).toMatch(/the data folder .* is in use by another station process \(pid \d+\)/);
    for (const serial of serials) expect(emulator.state.thingsBySerial.get(serial)!.issuedKeys, serial).toHaveLength(1);
  });
});
