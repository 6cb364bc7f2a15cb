import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GadgetKeeperAdapter } from '../../../main/core/cloud/gadgetkeeper/adapter.ts';
import { Connectivity } from '../../../main/core/engine/connectivity.ts';
import { OutboxReplayer } from '../../../main/core/engine/outbox-replayer.ts';
import { takeHeldCredentials } from '../../../main/core/engine/pipeline/held-credentials.ts';
import type { UnitState } from '../../../main/core/engine/pipeline/pipeline-types.ts';
import { Journal } from '../../../main/core/storage/journal.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';

const THING_ID = 'a'.repeat(32);
const API_KEY = 'b'.repeat(32);

/** A GadgetKeeper-like cloud on loopback that activates any serial with the same key and records every call it gets, headers included. */
async function recordingCloud(): Promise<{ url: string; calls: { method: string; url: string; headers: IncomingHttpHeaders }[]; stop(): Promise<void> }> {
  const calls: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  const server: Server = createServer((request, response) => {
    if (request.url === '/') return void response.end('ok');
    calls.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    if (request.url?.includes('/activate/')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ thingId: THING_ID, apiKey: API_KEY }));
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("a unit's cloud credentials stay with the cloud that issued them", () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setup() {
    const journal = Journal.open(join(mkdtempSync(join(tmpdir(), 'creds-cloud-')), 'journal.sqlite'), new SecretBox(randomBytes(32)));
    cleanup.push(() => journal.close());
    const issuer = await recordingCloud();
    const other = await recordingCloud();
    cleanup.push(() => issuer.stop(), () => other.stop());
    const replay = async (url: string) => {
      const adapter = new GadgetKeeperAdapter({ baseUrl: url, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
      const connectivity = new Connectivity({ probe: (signal) => adapter.probe({ signal }), probeIntervalMs: 50 });
      const replayer = new OutboxReplayer({ journal, adapter, connectivity, probeIntervalMs: 50 });
      try {
        return await replayer.replayNow();
      } finally {
        await replayer.stop();
      }
    };
    // The issuing cloud activates the unit from the outbox: the station now holds a key that cloud issued.
    const unit = journal.startUnit('THERM00000000000042', '/dev/ttyACM0');
    journal.enqueue(unit.id, 'gadgetkeeper', 'activate', {});
    journal.finishUnit(unit.id, 'pending');
    expect(await replay(issuer.url)).toBe(1);
    expect(journal.credentials(unit.id)).toMatchObject({ thingId: THING_ID, apiKey: API_KEY });
    return { journal, issuer, other, replay, unit };
  }

  it('the outbox never sends them to another cloud address: the call waits, saying why, and goes out once the line points at its cloud again', async () => {
    const { journal, issuer, other, replay, unit } = await setup();
    const queued = journal.enqueue(unit.id, 'gadgetkeeper', 'confirm', { versionId: 'c'.repeat(32) });

    // The cloud's address was changed (a screen's settings, or --config): the key must not go there.
    expect(await replay(other.url)).toBe(0);
    expect(other.calls.filter((call) => call.headers['x-apikey'] !== undefined)).toEqual([]);
    expect(JSON.stringify(other.calls)).not.toContain(API_KEY);
    const confirm = () => journal.outboxEntry(queued.id);
    // Not failed: only the issuing cloud can take it, and its unit is still owed it.
    expect(confirm()).toMatchObject({ state: 'pending', lastError: expect.stringContaining(new URL(issuer.url).origin) });
    expect(confirm()?.lastError).toContain(new URL(other.url).origin);
    expect(confirm()?.lastError).toContain('It waits in the outbox');
    expect(journal.unit(unit.id)).toMatchObject({ result: 'pending' });

    // The line points at the cloud that issued the key again: the waiting call goes out.
    expect(await replay(issuer.url)).toBe(1);
    expect(issuer.calls.at(-1)).toMatchObject({ method: 'PUT', headers: { 'x-apikey': API_KEY } });
    expect(confirm()).toMatchObject({ state: 'done' });
  });

  it('a unit starting again under another cloud address does not take the held ones (it is activated there instead)', async () => {
    const { journal, issuer, other, unit } = await setup();
    const again = journal.startUnit('THERM00000000000042', '/dev/ttyACM0');
    const previous = journal.unit(unit.id)!;
    const run = (url: string): UnitState => {
      const state: UnitState = { serial: 'THERM00000000000042', unitId: again.id, deferred: [] };
      takeHeldCredentials({ adapter: new GadgetKeeperAdapter({ baseUrl: url }), journal }, state, previous);
      return state;
    };
    expect(run(other.url).credentials).toBeUndefined();
    expect(journal.credentials(again.id)).toBeUndefined();
    expect(run(issuer.url).credentials).toEqual({ thingId: THING_ID, apiKey: API_KEY });
  });

  it('a call queued for one cloud goes to no other of the same backend, an activation included: it waits, then goes to its own', async () => {
    const { journal, issuer, other, replay } = await setup();
    const unit = journal.startUnit('THERM00000000000043', '/dev/ttyACM1');
    const queued = journal.enqueue(unit.id, 'gadgetkeeper', 'activate', {}, new GadgetKeeperAdapter({ baseUrl: issuer.url }).account);
    journal.finishUnit(unit.id, 'pending');
    expect(await replay(other.url)).toBe(0);
    expect(other.calls.filter((call) => call.url.includes('/activate/'))).toEqual([]);
    expect(journal.outboxEntry(queued.id)).toMatchObject({ state: 'pending', lastError: expect.stringContaining('It waits in the outbox') });
    expect(await replay(issuer.url)).toBe(1);
    expect(journal.outboxEntry(queued.id)?.state).toBe('done');
  });

  it("calls waiting for another cloud do not hold this cloud's behind them, however many come first", async () => {
    const { journal, issuer, other, replay } = await setup();
    const issuerAccount = new GadgetKeeperAdapter({ baseUrl: issuer.url }).account;
    // More calls for the issuing cloud than a replay takes at once (8), queued before the one for the other cloud.
    for (let n = 0; n < 12; n++) {
      const waiting = journal.startUnit(`THERM000000000001${String(n).padStart(2, '0')}`, '/dev/ttyACM2');
      journal.enqueue(waiting.id, 'gadgetkeeper', 'activate', {}, issuerAccount);
      journal.finishUnit(waiting.id, 'pending');
    }
    const mine = journal.startUnit('THERM00000000000199', '/dev/ttyACM3');
    const queued = journal.enqueue(mine.id, 'gadgetkeeper', 'activate', {}, new GadgetKeeperAdapter({ baseUrl: other.url }).account);
    journal.finishUnit(mine.id, 'pending');
    expect(await replay(other.url)).toBe(1);
    expect(journal.outboxEntry(queued.id)?.state).toBe('done');
    expect(other.calls.filter((call) => call.url.includes('/activate/'))).toHaveLength(1);
  });

  it('a unit activated again with another cloud drops the calls still waiting for the old one, saying why', async () => {
    const { journal, issuer, unit } = await setup();
    const issuerAccount = new GadgetKeeperAdapter({ baseUrl: issuer.url }).account;
    const waiting = journal.enqueue(unit.id, 'gadgetkeeper', 'confirm', { versionId: 'c'.repeat(32) }, issuerAccount);
    const mine = journal.enqueue(unit.id, 'gadgetkeeper', 'confirm', { versionId: 'c'.repeat(32) }, 'gadgetkeeper http://127.0.0.1:2');
    expect(journal.dropOtherCloudCalls(unit.id, 'gadgetkeeper http://127.0.0.1:2', 'superseded: activated again')).toBe(1);
    expect(journal.outboxEntry(waiting.id)).toMatchObject({ state: 'failed', lastError: 'superseded: activated again' });
    expect(journal.outboxEntry(mine.id)?.state).toBe('pending');
  });
});
