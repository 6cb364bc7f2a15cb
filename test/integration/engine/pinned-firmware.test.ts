import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startFleetFreedomEmulator } from '../../../main/core/cloud/fleetfreedom/emulator.ts';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { LineView } from '../../../main/core/desk/line-view.ts';
import type { StationEvent } from '../../../main/core/engine/events.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { startSimulatorOnPty } from '../../../main/core/simulator/simulator-hosts.ts';
import { FirmwareCache } from '../../../main/core/engine/firmware-cache.ts';
import { StationError } from '../../../main/core/errors.ts';
import { SettleWait } from '../../../main/core/engine/settled-file.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';

/**
 * A pinned firmware file copied over in place while the line runs (cp truncates, then writes in chunks) is never
 * flashed half-written: the station waits for it to stand still, and reads it again if it changed under the read.
 * Real files, real time, settle times short enough for a test and long against a writer's pace on a busy machine.
 */

const KiB = 1024;
const dirs: string[] = [];
const journals: Journal[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  for (const journal of journals.splice(0)) journal.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pinned-'));
  dirs.push(dir);
  return dir;
}

function cacheIn(dir: string, pinnedSettle: { settleMs?: number; timeoutMs?: number }): FirmwareCache {
  const journal = Journal.open(join(dir, 'j.sqlite'), new SecretBox(randomBytes(32)));
  journals.push(journal);
  return new FirmwareCache({ dir: join(dir, 'fw'), journal, adapter: new GadgetKeeperAdapter({ baseUrl: 'http://127.0.0.1:9' }), pinnedSettle });
}

/** A file as it was put in place before the shift: last changed an hour ago. */
function oldFile(path: string, data: Buffer | string): void {
  writeFileSync(path, data);
  const anHourAgo = new Date(Date.now() - 3600_000);
  utimesSync(path, anHourAgo, anHourAgo);
}

/** What `cp` does to a file in place: truncates it, then writes `data` in chunks, `gapMs` apart (the writer's pace, not a wait for the station). */
async function copyInPlace(path: string, data: Buffer, chunk: number, gapMs: number, started: () => void = () => undefined): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (let offset = 0; offset < data.length; offset += chunk) {
      await handle.write(data, offset, Math.min(chunk, data.length - offset), offset);
      if (offset === 0) started();
      if (offset + chunk < data.length) await pause(gapMs);
    }
  } finally {
    await handle.close();
  }
}

describe('a pinned firmware file being written', () => {
  it('copied over in place while a port asks for it, is handed out whole (the final file), never truncated', async () => {
    const dir = folder();
    const path = join(dir, 'fw.bin');
    oldFile(path, randomBytes(48 * KiB));
    const cache = cacheIn(dir, { settleMs: 1000, timeoutMs: 20_000 });
    const next = randomBytes(64 * KiB);
    let asked: Promise<unknown> | undefined;
    const waits: string[] = [];
    // The port asks right after the copy's first chunk: the file then holds 4 KiB of the new image.
    const copied = copyInPlace(path, next, 4 * KiB, 20, () => {
      asked = cache.pinned(path, 'v2', { onWaiting: (reason) => waits.push(reason) });
    });
    await copied;
    const image = (await asked) as Awaited<ReturnType<FirmwareCache['pinned']>>;
    expect(image.data.length).toBe(next.length);
    expect(Buffer.from(image.data).equals(next)).toBe(true);
    expect(waits).toEqual([`the pinned firmware file ${path} is being written; waiting for it to stand unchanged for 1 s`]);
  });

  it('that keeps changing fails within the bound, saying which file and to mv the new image into place', async () => {
    const dir = folder();
    const path = join(dir, 'fw.bin');
    oldFile(path, randomBytes(8 * KiB));
    const cache = cacheIn(dir, { settleMs: 500, timeoutMs: 1500 });
    const handle = await open(path, 'a');
    let done = false;
    // A writer that never stops (a log, a build writing in a loop): a byte every 20 ms, until the station has answered.
    const writer = (async () => {
      while (!done) {
        await handle.write(Buffer.from([1]));
        await pause(20);
      }
    })();
    const started = performance.now();
    const error = (await cache.pinned(path, 'v1').catch((e: unknown) => e)) as StationError;
    const elapsedMs = performance.now() - started;
    done = true;
    await writer;
    await handle.close();
    expect(error).toBeInstanceOf(StationError);
    expect(error.code).toBe('FIRMWARE_CHANGING');
    expect(error.retryable).toBe(true);
    expect(error.describe()).toBe(
      `the pinned firmware file ${path} kept changing for 1.5 s: it is being written, and a half-written image is never flashed. Copy a new image next to it under another name, then move it into place with mv (a move is atomic: cp new.bin fw.bin.tmp && mv fw.bin.tmp fw.bin), and retry the unit.`,
    );
    // Bounded: not before its time limit, and not long after (margin for a busy two-core machine).
    expect(elapsedMs).toBeGreaterThanOrEqual(1400);
    expect(elapsedMs).toBeLessThan(1500 + 5000);
  });

  it('is used once it has stood still for the settle time; a settled file at once, without waiting', async () => {
    const dir = folder();
    const fresh = join(dir, 'fresh.bin');
    writeFileSync(fresh, randomBytes(16 * KiB));
    const cache = cacheIn(dir, { settleMs: 600, timeoutMs: 20_000 });
    const waits: number[] = [];
    let started = performance.now();
    const first = await cache.pinned(fresh, 'v1', { onWaiting: (_reason, until) => waits.push(until) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(500);
    expect(waits).toHaveLength(1);
    expect(first.data.length).toBe(16 * KiB);

    // Settled now (and a file put in place with mv keeps its old time): used at once, with the default settle time too.
    const settled = join(dir, 'settled.bin');
    oldFile(settled, randomBytes(16 * KiB));
    for (const station of [cache, cacheIn(folder(), {})]) {
      started = performance.now();
      const again = await station.pinned(settled, 'v1', { onWaiting: (_reason, until) => waits.push(until) });
      expect(performance.now() - started).toBeLessThan(500);
      expect(again.data.length).toBe(16 * KiB);
    }
    expect(waits).toHaveLength(1);
  });

  it('waits cancellably: the port\'s cancel ends the wait at once', async () => {
    const dir = folder();
    const path = join(dir, 'fw.bin');
    writeFileSync(path, randomBytes(4 * KiB));
    const cache = cacheIn(dir, { settleMs: 10_000, timeoutMs: 20_000 });
    const controller = new AbortController();
    const started = performance.now();
    const asked = cache.pinned(path, 'v1', { signal: controller.signal, onWaiting: () => controller.abort() });
    await expect(asked).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('a read the file changed under', () => {
  it('is not handed out: the file is read again once it stands still, and what is handed out is what it holds then', async () => {
    const dir = folder();
    const path = join(dir, 'fw.bin');
    const old = randomBytes(32 * KiB);
    const next = randomBytes(48 * KiB);
    oldFile(path, old);
    const settle = new SettleWait({ settleMs: 500, timeoutMs: 20_000 });
    const reads: number[] = [];
    // The first read gets the old image, and right after it, before the station looks again, the file is copied over in place.
    const data = await settle.read(path, () => undefined, async (file) => {
      const data = await readFile(path);
      reads.push(file.size);
      if (reads.length === 1) await copyInPlace(path, next, 16 * KiB, 0);
      return data;
    });
    expect(reads).toEqual([old.length, next.length]);
    expect(data.equals(next)).toBe(true);
  });
});

describe('a pinned ESP-IDF build being written', () => {
  /** A build folder: a bootloader at 0x0 and an app at 0x10000, as flasher_args.json says. */
  function build(dir: string, app: Buffer, appOffset = '0x10000') {
    oldFile(join(dir, 'boot.bin'), Buffer.alloc(4 * KiB, 0xb0));
    oldFile(join(dir, 'app.bin'), app);
    const path = join(dir, 'flasher_args.json');
    oldFile(path, JSON.stringify({ flash_files: { '0x0': 'boot.bin', [appOffset]: 'app.bin' } }));
    return path;
  }

  it('never hands out an app part copied over in place while a port asks for it', async () => {
    const dir = folder();
    const path = build(dir, randomBytes(40 * KiB));
    const cache = cacheIn(dir, { settleMs: 1000, timeoutMs: 20_000 });
    const next = randomBytes(64 * KiB);
    let asked: Promise<unknown> | undefined;
    await copyInPlace(join(dir, 'app.bin'), next, 4 * KiB, 20, () => {
      asked = cache.pinned(path, 'v2');
    });
    const image = (await asked) as Awaited<ReturnType<FirmwareCache['pinned']>>;
    const app = image.parts!.find((part) => part.offset === 0x10000)!;
    expect(app.data.length).toBe(next.length);
    expect(Buffer.from(app.data).equals(next)).toBe(true);
  });

  it('reads again when flasher_args.json was rewritten in place while its parts were being read, never mixing the two', async () => {
    const dir = folder();
    const path = build(dir, randomBytes(40 * KiB));
    // The app part is fresh (just built), so reading it waits; meanwhile flasher_args.json, already read, is rewritten in place.
    writeFileSync(join(dir, 'app.bin'), randomBytes(40 * KiB));
    const cache = cacheIn(dir, { settleMs: 800, timeoutMs: 20_000 });
    let rewritten: Promise<void> | undefined;
    const image = await cache.pinned(path, 'v1', {
      onWaiting: () => (rewritten ??= writeFile(path, JSON.stringify({ flash_files: { '0x0': 'boot.bin', '0x20000': 'app.bin' } }))),
    });
    await rewritten;
    expect(rewritten).toBeDefined();
    expect(image.parts!.map((part) => part.offset)).toEqual([0x0, 0x20000]);
  });
});

describe('a line with a pinned firmware file (firmware.source "file")', () => {
  it('copied over in place while a unit is at work: the unit waits, its tile says so, and it is flashed the whole new image', async () => {
    const cloud = await startFleetFreedomEmulator({ companies: [{ id: 7, name: 'F' }], users: [{ username: 'line', password: 'pw', companies: [7] }] }, { connectionDelayMs: 5 });
    closers.push(() => cloud.stop());
    const sim = await startSimulatorOnPty({ serial: 'THERM00000000000042', bootDelayMs: 20 });
    closers.push(() => sim.stop());
    const dir = folder();
    const path = join(dir, 'fw.bin');
    oldFile(path, randomBytes(20 * KiB));
    const config = lineConfigSchema.parse({
      cloud: { backend: 'fleetfreedom', url: cloud.url, username: 'line', password: 'pw', company: 7, providerKind: 'json' },
      firmware: { source: 'file', path, versionId: 'fw-2' },
      ports: [sim.path],
    });
    const station = await Station.open({ config, dataDir: join(dir, 'data') });
    closers.push(() => station.close());
    const view = new LineView();
    view.setPorts([{ path: sim.path, slot: '1' }], 'waiting');
    const shown: string[] = [];
    const events: StationEvent[] = [];
    const next = randomBytes(96 * KiB);
    let run: Promise<unknown> | undefined;
    // The technician copies the new image over the pinned one as the unit starts (the station's default settle time, 2 s).
    await copyInPlace(path, next, 8 * KiB, 20, () => {
      run = station.provisionOnce([sim.path], (event) => {
        events.push(event);
        view.apply(event);
        const waiting = view.tile(sim.path)?.waitingForFile;
        if (waiting) shown.push(waiting.reason);
      });
    });
    const [outcome] = (await run) as Awaited<ReturnType<Station['provisionOnce']>>;
    expect(outcome).toMatchObject({ result: 'passed', versionId: 'fw-2' });
    expect(sim.simulator.installedSha256).toBe(createHash('sha256').update(next).digest('hex'));
    expect(events.filter((event) => event.type === 'waiting')).toMatchObject([{ step: 'download', for: 'firmware-file' }]);
    expect(shown).toEqual([`the pinned firmware file ${path} is being written; waiting for it to stand unchanged for 2 s`]);
  });
});
