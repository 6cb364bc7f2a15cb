import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startPrinterEmulator } from '../core/simulator/printer-emulator.ts';
import { parseCommand } from './args.ts';

const HELP = `Usage: station sim printer [--port N] [--host ADDR] [--jobs DIR]

Runs a label printer's raw port (as Zebra printers serve ZPL on 9100) until
Ctrl-C: every label it receives is kept, printed here in one line, and
written to DIR as job-0001.zpl, job-0002.zpl… when --jobs is given.

  --port N      TCP port (default 9100; 0 picks a free one)
  --host ADDR   address to listen on (default 127.0.0.1)
  --jobs DIR    folder the labels are written to`;

export async function simPrinterCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand('sim printer', argv, { port: { type: 'string' }, host: { type: 'string' }, jobs: { type: 'string' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as { port?: string; host?: string; jobs?: string };
  const port = Number(values.port ?? 9100);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`station sim printer: --port must be 0 to 65535\n\n${HELP}`);
    return 2;
  }
  const folder = values.jobs === undefined ? undefined : resolve(values.jobs);
  if (folder) mkdirSync(folder, { recursive: true });
  const printer = await startPrinterEmulator({ port, host: values.host });
  printer.onJob((zpl) => {
    const number = printer.jobs.length;
    if (folder) writeFileSync(join(folder, `job-${String(number).padStart(4, '0')}.zpl`), zpl);
    console.log(`label ${number}: ${zpl.replace(/\s+/g, ' ').slice(0, 160)}`);
  });
  console.log(`label printer emulator listening on ${printer.host}:${printer.port}${folder ? `, labels written to ${folder}` : ''}`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await printer.stop();
  return 0;
}
