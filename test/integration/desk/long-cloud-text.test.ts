import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { methods } from '../../../contract/station-contract.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { dispatch } from '../../../main/core/desk/dispatch.ts';
import { StationDesk } from '../../../main/core/desk/station-desk.ts';
import { startSimulatorOnPty, type PtySimulator } from '../../../main/core/simulator/simulator-hosts.ts';
import { until } from '../../helpers/until.ts';

/**
 * A Fleet Freedom socket on loopback that answers `refused` (login or
 * mergeProvider) with `errorCode` and `message`, and every other call with success.
 */
async function refusingFleetFreedom(refused: string, errorCode: number, message: string): Promise<{ url: string; stop(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  server.on('connection', (socket) => {
    socket.send('connectionResponse {"errorCode":8,"message":"not logged in"}');
    socket.on('message', (raw) => {
      const text = raw.toString();
      const space = text.indexOf(' ');
      const name = text.slice(0, space);
      const { reqId } = JSON.parse(text.slice(space + 1)) as { reqId: number };
      if (name === refused) socket.send(`${name}Response ${JSON.stringify({ reqId, errorCode, message })}`);
      else socket.send(`${name}Response ${JSON.stringify({ reqId, errorCode: 0, message: '', ghostId: 'g1' })}`);
    });
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

describe('a long text from the cloud, on the line screen', () => {
  // invalidData and an unknown code quote the cloud's message in the unit's failure.
  for (const [refused, errorCode] of [['mergeProvider', 3], ['mergeProvider', 99]] as const) {
    it(`Fleet Freedom answering ${refused} with error ${errorCode} and a 5000-character message: the screen still gets its snapshot, with a short excerpt`, { timeout: 60_000 }, async () => {
      const cloud = await refusingFleetFreedom(refused, errorCode, `${'x'.repeat(2500)}\u001b[2J${'y'.repeat(2500)}`);
      cleanup.push(() => cloud.stop());
      const sim: PtySimulator = await startSimulatorOnPty({ serial: 'UNIT-LONG-1', bootDelayMs: 20 });
      cleanup.push(() => sim.stop());
      const dir = mkdtempSync(join(tmpdir(), 'long-cloud-text-'));
      writeFileSync(join(dir, 'fw.bin'), Buffer.alloc(4096, 0x5a));
      const config = lineConfigSchema.parse({
        cloud: { backend: 'fleetfreedom', url: cloud.url, username: 'line', password: 'pw', company: 7, providerKind: 'json' },
        firmware: { source: 'file', path: join(dir, 'fw.bin'), versionId: 'fw-2' },
        ports: [sim.path],
      });
      const desk = new StationDesk({ dataDir: join(dir, 'data'), settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32), fixedConfig: { config, source: 'line.json' } });
      cleanup.push(() => desk.close(0));
      await desk.init();
      await desk.startLine();
      await until(() => desk.snapshot().tiles[0]?.state === 'failed', 30_000);

      const answer = await dispatch(desk, 'snapshot', []);
      expect(answer).toMatchObject({ ok: true });
      const tile = (answer as { value: { tiles: Array<{ failure?: { message: string } }> } }).value.tiles[0]!;
      const message = tile.failure!.message;
      // A short excerpt of the cloud's words, cut with "…", its escape character shown rather than sent to a terminal.
      expect(message.length).toBeLessThan(1000);
      expect(message).toContain('xxxx');
      expect(message).toContain('…');
      expect(message).not.toContain('\u001b');
      // The journal's record, as History shows it, keeps to the contract too.
      const history = await dispatch(desk, 'history', [{}]);
      expect(history).toMatchObject({ ok: true });
      const rows = (history as { value: Array<{ error?: string }> }).value;
      expect(rows[0]!.error!.length).toBeLessThan(1000);
      expect(methods.history.result.safeParse(rows).success).toBe(true);
    });
  }
});
