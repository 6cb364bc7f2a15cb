import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGadgetKeeperEmulator } from '../../main/core/cloud/gadgetkeeper/emulator.ts';
import { startPrinterEmulator } from '../../main/core/simulator/printer-emulator.ts';
import { startSimulatorOnPty } from '../../main/core/simulator/simulator-hosts.ts';
import { startStation as station } from '../helpers/station-cli.ts';
import { until } from '../helpers/until.ts';

describe('labels from the command line', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('station run --operator: a label scanned on standard input passes the unit, whose label names the operator', { timeout: 60_000 }, async () => {
    const emulator = await startGadgetKeeperEmulator({ products: [{ name: 'T', serialNumbers: ['CLI00001'], versions: [{ name: '1', firmware: { size: 4096 } }] }] });
    cleanup.push(() => emulator.stop());
    const printer = await startPrinterEmulator();
    cleanup.push(() => printer.stop());
    const sim = await startSimulatorOnPty({ serial: 'CLI00001', bootDelayMs: 20 });
    cleanup.push(() => sim.stop());
    const config = join(mkdtempSync(join(tmpdir(), 'cli-labels-')), 'line.json');
    writeFileSync(
      config,
      JSON.stringify({
        cloud: { backend: 'gadgetkeeper', url: emulator.url },
        labels: { check: { timeoutSeconds: 30 }, print: { printer: { kind: 'tcp', host: printer.host, port: printer.port }, template: '^XA^FD{serial} by {operator}^FS^XZ' } },
      }),
    );
    const run = station(['run', '--config', config, '--port', sim.path, '--once', '--json', '--operator', 'Grace', '--data-dir', mkdtempSync(join(tmpdir(), 'data-'))], (line, write) => {
      const event = JSON.parse(line) as { type: string; prompt?: unknown };
      // A keyboard-wedge scanner types the label and Enter.
      if (event.type === 'prompt' && event.prompt) write('CLI00001\n');
    });
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('"type":"prompt"');
    await until(() => printer.jobs.length === 1);
    expect(printer.jobs[0]).toBe('^XA^FDCLI00001 by Grace^FS^XZ');
  });

  it('station print-test sends a sample label, and exits 1 saying why when the printer is off', async () => {
    const printer = await startPrinterEmulator();
    cleanup.push(() => printer.stop());
    const config = join(mkdtempSync(join(tmpdir(), 'print-test-')), 'line.json');
    const write = (port: number) =>
      writeFileSync(config, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: 'http://127.0.0.1:9' }, labels: { print: { printer: { kind: 'tcp', host: '127.0.0.1', port } } } }));
    write(printer.port);
    const sent = await station(['print-test', '--config', config]).done;
    expect(sent).toMatchObject({ code: 0, stdout: `a sample label went to the printer at 127.0.0.1:${printer.port}\n` });
    await until(() => printer.jobs.length === 1);
    expect(printer.jobs[0]).toContain('THERM00000000000042');
    await printer.stop();
    const off = await station(['print-test', '--config', config]).done;
    expect(off.code).toBe(1);
    expect(off.stderr).toContain('label not printed');
  });

  it('station print-test refuses a template that changes the ZPL command prefix, naming the field and the command, and prints nothing', async () => {
    const printer = await startPrinterEmulator();
    cleanup.push(() => printer.stop());
    const config = join(mkdtempSync(join(tmpdir(), 'print-test-')), 'line.json');
    // With ^CC% the printer reads "%" as the command prefix: an operator named "Eve%XZ%XA%HH" would send commands.
    const template = '^XA^CC%%FO20,20%FD{operator}%FS%CC^^XZ';
    writeFileSync(config, JSON.stringify({ cloud: { backend: 'gadgetkeeper', url: 'http://127.0.0.1:9' }, labels: { print: { printer: { kind: 'tcp', host: '127.0.0.1', port: printer.port }, template } } }));
    const refused = await station(['print-test', '--config', config]).done;
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`line configuration ${config} is invalid: labels.print.template: ^CC changes the format prefix (^)`);
    expect(refused.stderr).toContain('remove ^CC');
    expect(printer.jobs).toEqual([]);
  });

  it('station sim printer keeps the labels it receives, and writes them to --jobs', async () => {
    const jobs = mkdtempSync(join(tmpdir(), 'jobs-'));
    const sim = station(['sim', 'printer', '--port', '0', '--jobs', jobs]);
    cleanup.push(() => sim.child.kill('SIGTERM'));
    let output = '';
    sim.child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await until(() => /listening on [\d.]+:\d+/.test(output));
    const port = Number(/listening on [\d.]+:(\d+)/.exec(output)![1]);
    await new Promise<void>((resolve) => connect({ host: '127.0.0.1', port }, function (this: import('node:net').Socket) {
      this.end('^XA^FDhello^FS^XZ', resolve);
    }));
    await until(() => readdirSync(jobs).length === 1);
    expect(readFileSync(join(jobs, 'job-0001.zpl'), 'utf8')).toBe('^XA^FDhello^FS^XZ');
    await until(() => output.includes('label 1: ^XA^FDhello^FS^XZ'));
  });
});
