import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../main/core/cloud/gadgetkeeper/emulator.ts';
import { openPort } from '../../main/core/ports/open-port.ts';
import { startSimulatorOnPty } from '../../main/core/simulator/simulator-hosts.ts';
import { smallDisk } from '../helpers/small-disk.ts';
import { runStation, startStation } from '../helpers/station-cli.ts';

/**
 * `station run --once` stopped before its units are done: by a journal that
 * cannot be written, or by Ctrl-C. Each unit waits at a label-check prompt
 * (nobody scans unless the test does), so it stays at work until then.
 */
describe('station run --once, stopped', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function line(serials: string[], extra: Record<string, unknown> = {}) {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: serials, versions: [{ name: '1', firmware: { size: 4000 } }] }] });
    cleanup.push(() => emulator.stop());
    const ports: string[] = [];
    for (const serial of serials) {
      const sim = await startSimulatorOnPty({ serial, bootDelayMs: 20 });
      cleanup.push(() => sim.stop());
      ports.push(sim.path);
    }
    const config = join(mkdtempSync(join(tmpdir(), 'once-stop-')), 'line.json');
    writeFileSync(config, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: emulator.url }, ports, labels: { check: { timeoutSeconds: 600 } }, ...extra }));
    return { config, ports };
  }

  /** The ports that asked for a label so far, from the --json events. */
  function promptsOf(line: string, asked: Set<string>): void {
    const event = JSON.parse(line) as { type: string; port: string; prompt?: unknown };
    if (event.type === 'prompt' && event.prompt) asked.add(event.port);
  }

  it('a journal that cannot be written ends the whole run: exit 1 with the error, once every port has stopped', { timeout: 120_000 }, async () => {
    const disk = smallDisk();
    cleanup.push(() => disk.unmount());
    const { config, ports } = await line(['UNIT-A', 'UNIT-B']);
    const [a, b] = ports as [string, string];
    const asked = new Set<string>();
    let scanned = false;
    const run = startStation(['run', '--config', config, '--once', '--json', '--data-dir', disk.dir], (output, write) => {
      promptsOf(output, asked);
      // Both units are on record and wait for their labels: the disk fills, then A's label is scanned.
      if (asked.size === 2 && !scanned) {
        scanned = true;
        disk.fill();
        write(`${a}:UNIT-A\n`);
      }
    });
    cleanup.push(() => run.child.kill('SIGKILL'));
    // B waits for a label for 10 minutes: the run ends long before only if B is cancelled.
    const result = await run.endsWithin(60_000);
    expect(scanned).toBe(true);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`station: port ${a}, unit UNIT-A, step label-check: the journal`);
    expect(result.stderr).toContain(`the disk holding ${disk.dir} is full`);
    expect(result.stderr).not.toMatch(/unhandled/i);
    // Nothing is left holding B's port.
    const reopened = await openPort(b);
    await reopened.close();
  });

  it('Ctrl-C with more ports than concurrency.ports: the unit at work is cancelled, the port still waiting for its turn records nothing', { timeout: 120_000 }, async () => {
    const { config, ports } = await line(['UNIT-A', 'UNIT-B'], { concurrency: { ports: 1 } });
    const [a] = ports as [string, string];
    const dataDir = mkdtempSync(join(tmpdir(), 'once-stop-data-'));
    const asked = new Set<string>();
    let interrupted = false;
    const run = startStation(['run', '--config', config, '--once', '--json', '--data-dir', dataDir], (output) => {
      promptsOf(output, asked);
      // A is at work (it waits for its label); B waits for its turn. Once: a second Ctrl-C kills at once.
      if (asked.size === 1 && !interrupted) {
        interrupted = true;
        run.child.kill('SIGINT');
      }
    });
    cleanup.push(() => run.child.kill('SIGKILL'));
    const result = await run.endsWithin(60_000);
    expect([...asked]).toEqual([a]);
    expect(result.code, result.stderr).toBe(1);
    const units = result.stdout
      .trim()
      .split('\n')
      .map((output) => JSON.parse(output) as Record<string, unknown>)
      .filter((event) => event.type === 'unit');
    expect(units.map((unit) => [unit.port, unit.serial, unit.errorCode])).toEqual([[a, 'UNIT-A', 'CANCELLED']]);

    const history = await runStation(['history', '--format', 'json', '--data-dir', dataDir]);
    expect(history.code, history.stderr).toBe(0);
    const attempts = JSON.parse(history.stdout) as Array<{ port: string; serial: string; result: string }>;
    expect(attempts.map((attempt) => [attempt.port, attempt.serial, attempt.result])).toEqual([[a, 'UNIT-A', 'cancelled']]);
  });
});
