import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { Connectivity } from '../../../main/core/engine/connectivity.ts';
import { OutboxReplayer } from '../../../main/core/engine/outbox-replayer.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';
import { until } from '../../helpers/until.ts';

/** A small tmpfs of its own, so the test can fill its disk between two writes of the replayer. */
function smallDisk(): { dir: string; fill(): void; free(): void; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) throw new Error(`this test mounts a tmpfs and needs root: ${mounted.stderr}`);
  const filler = join(dir, 'filler');
  return {
    dir,
    // dd stops with "No space left on device" once the disk is full: that is the point.
    fill: () => void spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' }),
    free: () => rmSync(filler, { force: true }),
    unmount: () => execFileSync('umount', ['-l', dir]),
  };
}

describe('the outbox replayer when the journal cannot record a call', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('sends the call again once the disk has room, without a restart', async () => {
    const disk = smallDisk();
    cleanup.push(() => disk.unmount());
    const journal = Journal.open(join(disk.dir, 'journal.sqlite'), new SecretBox(randomBytes(32)));
    cleanup.push(() => journal.close());
    // The cloud: the first activation fills the station's disk while it is in flight and answers 503 (try later).
    const activations: string[] = [];
    const server: Server = createServer((request, response) => {
      if (request.method !== 'PUT') return void response.end('ok');
      activations.push(request.url ?? '');
      if (activations.length === 1) {
        disk.fill();
        response.writeHead(503).end();
      } else {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32) }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const adapter = new GadgetKeeperAdapter({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const unit = journal.startUnit('OUTBOX-1', '/dev/ttyACM0');
    journal.enqueue(unit.id, 'gadgetkeeper', 'activate', {});
    journal.finishUnit(unit.id, 'pending');
    const connectivity = new Connectivity({ probe: (signal) => adapter.probe({ signal }), probeIntervalMs: 50 });
    const replayer = new OutboxReplayer({ journal, adapter, connectivity, probeIntervalMs: 50, retryBaseMs: 10, retryMaxMs: 20 });
    cleanup.push(() => replayer.stop());
    replayer.start();

    // The 503 could not be recorded: the disk is full.
    await until(() => activations.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    disk.free();
    // Room again: the call goes out again and its answer is kept.
    await until(() => journal.outboxCounts().done === 1, 10_000);
    expect(activations).toHaveLength(2);
    expect(journal.credentials(unit.id)).toEqual({ thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32), account: adapter.account });
    expect(journal.unit(unit.id)?.result).toBe('pending');
  });
});
