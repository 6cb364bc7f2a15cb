import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StationError } from '../../main/core/errors.ts';
import { labelsConfigSchema } from '../../main/core/config/labels-config.ts';
import { createLabelPrinter, parsePrinterAddress } from '../../main/core/labels/label-printer.ts';
import { startPrinterEmulator } from '../../main/core/simulator/printer-emulator.ts';

describe('label printers', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('raw TCP (9100): the printer keeps each label as a job', async () => {
    const printer = await startPrinterEmulator();
    cleanup.push(() => printer.stop());
    const target = createLabelPrinter({ kind: 'tcp', host: printer.host, port: printer.port });
    await target.print('^XA^FDone^FS^XZ');
    await target.print('^XA^FDtwo^FS^XZ\n^XA^FDthree^FS^XZ');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(printer.jobs).toEqual(['^XA^FDone^FS^XZ', '^XA^FDtwo^FS^XZ', '^XA^FDthree^FS^XZ']);
  });

  it('a printer that is off, or takes nothing, fails the label in bounded time saying what to do', async () => {
    const printer = await startPrinterEmulator();
    const { host, port } = printer;
    await printer.stop();
    await expect(createLabelPrinter({ kind: 'tcp', host, port }).print('^XA^XZ')).rejects.toMatchObject({
      code: 'LABEL_NOT_PRINTED',
      message: `label not printed: the printer at ${host}:${port} could not be reached (ECONNREFUSED)`,
    });
    // Accepts the connection and never reads: a jammed printer with a full buffer.
    const held: Socket[] = [];
    const jammed = createServer((socket) => {
      held.push(socket);
      socket.pause();
    });
    await new Promise<void>((resolve) => jammed.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => {
      for (const socket of held) socket.destroy();
      return new Promise((resolve) => jammed.close(resolve));
    });
    const jammedPort = (jammed.address() as { port: number }).port;
    const started = Date.now();
    const error = await createLabelPrinter({ kind: 'tcp', host: '127.0.0.1', port: jammedPort }, { timeoutMs: 500 })
      .print(`^XA^FD${'x'.repeat(8 * 1024 * 1024)}^FS^XZ`)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LABEL_NOT_PRINTED', message: `label not printed: the printer at 127.0.0.1:${jammedPort} did not take the label within 500 ms` });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a CUPS queue gets the label raw through lp -d QUEUE -o raw (a stand-in lp on PATH records what it is given)', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'fake-lp-'));
    const record = join(bin, 'record');
    writeFileSync(join(bin, 'lp'), `#!/bin/sh\necho "$@" > ${record}.args\ncat > ${record}.job\n`);
    chmodSync(join(bin, 'lp'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    cleanup.push(() => (process.env.PATH = path));
    await createLabelPrinter({ kind: 'cups', queue: 'zebra1' }).print('^XA^FDcups^FS^XZ');
    expect(readFileSync(`${record}.args`, 'utf8').trim()).toBe('-d zebra1 -o raw');
    expect(readFileSync(`${record}.job`, 'utf8')).toBe('^XA^FDcups^FS^XZ');

    writeFileSync(join(bin, 'lp'), '#!/bin/sh\necho "lp: The printer or class does not exist." >&2\nexit 1\n');
    // Larger than a pipe's buffer: lp exits before the label is written, and the broken pipe is just that refusal.
    await expect(createLabelPrinter({ kind: 'cups', queue: 'nope' }).print(`^XA^FD${'x'.repeat(1 << 20)}^FS^XZ`)).rejects.toMatchObject({
      message: 'label not printed: the CUPS queue nope refused the label (lp: lp: The printer or class does not exist.)',
    });
  });

  it('a CUPS queue name is a name, never an option to lp: one starting with "-" is not a printer address', () => {
    expect(parsePrinterAddress('cups:zebra1')).toEqual({ kind: 'cups', queue: 'zebra1' });
    expect(parsePrinterAddress('cups:_line-2.a')).toEqual({ kind: 'cups', queue: '_line-2.a' });
    for (const text of ['cups:-h', 'cups:-hevil.example:631', 'cups:.hidden', 'cups:', 'cups:a b']) expect(parsePrinterAddress(text), text).toBeUndefined();
    // The same rule in a labels configuration file, with a message that says what a queue name is.
    const printer = (queue: string) => labelsConfigSchema.safeParse({ print: { printer: { kind: 'cups', queue } } });
    expect(printer('_line-2.a').success).toBe(true);
    for (const queue of ['-h', '-hevil.example:631', '.hidden', '']) {
      expect(printer(queue).error?.issues[0]?.message, queue).toBe('must be a CUPS queue name (letters, digits, _ . -, starting with a letter, digit or _)');
    }
  });

  it('a CUPS print cancelled (the unit was cancelled) says so, not that CUPS is missing', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'slow-lp-'));
    const started = join(bin, 'started');
    // An lp that takes the label and then waits on a busy spooler.
    writeFileSync(join(bin, 'lp'), `#!/bin/sh\ncat > /dev/null\ntouch ${started}\nexec sleep 30\n`);
    chmodSync(join(bin, 'lp'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    cleanup.push(() => (process.env.PATH = path));
    const controller = new AbortController();
    const printing = createLabelPrinter({ kind: 'cups', queue: 'zebra1' }).print('^XA^FDcancel^FS^XZ', controller.signal).catch((e: unknown) => e);
    const deadline = Date.now() + 10_000;
    while (!existsSync(started) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    const error = (await printing) as StationError;
    expect(error).toMatchObject({ code: 'LABEL_NOT_PRINTED', message: 'label not printed: the CUPS queue zebra1 was not sent the label: cancelled' });
    expect(error.describe()).not.toContain('Install CUPS');
  });
});
