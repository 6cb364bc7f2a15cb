import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { Connectivity } from '../../../main/core/engine/connectivity.ts';
import { OutboxReplayer } from '../../../main/core/engine/outbox-replayer.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';
import { useCleanup } from '../../helpers/cleanup.ts';

const credentials = { thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32) };

describe('what a replayed call does to its unit and its schedule (a real journal file, a real local cloud)', () => {
  const cleanup = useCleanup();

  /** A cloud whose thing calls (PUT) are answered by `answer`; anything else (the probe) is answered 200. */
  async function setUp(answer: (request: IncomingMessage, response: ServerResponse) => void) {
    const puts: string[] = [];
    const server = createServer((request, response) => {
      request.resume();
      if (request.method !== 'PUT') return void response.end('ok');
      puts.push(request.url ?? '');
      answer(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });
    const adapter = new GadgetKeeperAdapter({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const journal = Journal.open(join(mkdtempSync(join(tmpdir(), 'replay-outcomes-')), 'journal.sqlite'), new SecretBox(randomBytes(32)));
    cleanup.push(() => journal.close());
    const connectivity = new Connectivity({ probe: (signal) => adapter.probe({ signal }), probeIntervalMs: 50 });
    // Backoff of milliseconds: a schedule minutes away can only come from the cloud's Retry-After.
    const replayer = new OutboxReplayer({ journal, adapter, connectivity, probeIntervalMs: 50, retryBaseMs: 10, retryMaxMs: 20 });
    cleanup.push(() => replayer.stop());
    /** A unit holding delivered credentials whose rename waits in the outbox, finished as `result`. */
    const unitWithQueuedRename = (serial: string, finish: (unitId: number) => void) => {
      const unit = journal.startUnit(serial, '/dev/ttyACM0');
      journal.storeCredentials(unit.id, { ...credentials, account: adapter.account }, 'held');
      const call = journal.enqueue(unit.id, 'gadgetkeeper', 'rename', { name: `Thing-${serial}` }, adapter.account);
      finish(unit.id);
      return { unitId: unit.id, callId: call.id };
    };
    return { journal, replayer, puts, unitWithQueuedRename };
  }

  it('a unit that failed on the line stays failed when its queued call goes through later', async () => {
    const { journal, replayer, puts, unitWithQueuedRename } = await setUp((_request, response) => response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'));
    // Its rename waited in the outbox, then the flash failed (unplugged): the unit is failed, its call still owed to the cloud.
    const { unitId, callId } = unitWithQueuedRename('FAILED-ON-LINE', (id) => journal.finishUnit(id, 'failed', { step: 'flash', error: 'the unit was unplugged' }));
    expect(await replayer.replayNow()).toBe(1);
    expect(puts).toHaveLength(1);
    expect(journal.outboxEntry(callId)?.state).toBe('done');
    expect(journal.unit(unitId)).toMatchObject({ result: 'failed', failedStep: 'flash' });
  });

  it('a call the cloud answers 429 with a long Retry-After is due again when the cloud said, not at the next backoff', async () => {
    const { journal, replayer, puts, unitWithQueuedRename } = await setUp((_request, response) => response.writeHead(429, { 'Retry-After': '300' }).end());
    const { unitId, callId } = unitWithQueuedRename('RATE-LIMITED', (id) => journal.finishUnit(id, 'pending'));
    const before = Date.now();
    expect(await replayer.replayNow()).toBe(0);
    expect(puts).toHaveLength(1);
    const entry = journal.outboxEntry(callId)!;
    expect(entry.state).toBe('pending');
    // 300 s from when it was answered (a generous lower bound on a busy machine), never the 10-20 ms backoff.
    expect(entry.nextAttemptAt - before).toBeGreaterThanOrEqual(290_000);
    expect(entry.nextAttemptAt - before).toBeLessThanOrEqual(310_000);
    expect(journal.dueOutbox()).toEqual([]);
    expect(journal.unit(unitId)?.result).toBe('pending');
  });
});
