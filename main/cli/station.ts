import { readFile } from 'node:fs/promises';
import { ConfigError, describeError } from '../core/errors.ts';
import { holdHeapSteady } from '../core/heap-policy.ts';
import { demoCommand } from './demo.ts';
import { engineerPinCommand } from './engineer-pin.ts';
import { historyCommand } from './history.ts';
import { outboxCommand } from './outbox.ts';
import { printTestCommand } from './print-test.ts';
import { runCommand } from './run.ts';
import { serveCommand } from './serve.ts';
import { simCloudCommand } from './sim-cloud.ts';
import { simDeviceCommand } from './sim-device.ts';
import { simPrinterCommand } from './sim-printer.ts';

const USAGE = `Usage: station <command> [options]

Commands:
  run           provision units on the line's ports (--once: one unit per port)
  demo          a whole simulated line: cloud emulator, N units, live progress
  serve         the station's screen in a browser (--demo: a simulated line)
  history       print or export the recorded units (CSV or JSON)
  outbox        list the cloud calls waiting in the outbox, or replay them now
  print-test    print a sample label on the line's label printer
  engineer-pin  set or clear the engineer PIN (operator mode), read from standard input
  sim device    run a simulated reference or ESP32 device on a pty or TCP port
  sim cloud     run a local GadgetKeeper, Exosite or Fleet Freedom emulator
  sim printer   run a label printer's raw port (9100) that keeps the labels it receives

Run "station <command> --help" for a command's options; "station --version" for the version.

Exit status: 0 done (every unit passed), 1 a unit failed, 2 bad usage or
configuration, 3 none failed but some wait for the cloud (see "station run --help").`;

const SIM_USAGE = `Usage: station sim <device|cloud|printer> [options]

  sim device    run a simulated reference or ESP32 device on a pty or TCP port
  sim cloud     run a local GadgetKeeper, Exosite or Fleet Freedom emulator
  sim printer   run a label printer's raw port (9100) that keeps the labels it receives

Run "station sim device --help", "station sim cloud --help" or "station sim printer --help" for their options.`;

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The version in package.json, beside the sources. */
async function stationVersion(): Promise<string> {
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown');
}

/** "station help [command]": the same text as "station <command> --help". */
function helpFor(command: string | undefined, rest: string[]): Promise<number> | number {
  if (command === undefined) {
    console.log(USAGE);
    return EXIT_OK;
  }
  if (command === 'sim' && rest[0] === undefined) {
    console.log(SIM_USAGE);
    return EXIT_OK;
  }
  return main([command, ...rest, '--help']);
}

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    console.log(`station ${await stationVersion()}`);
    return EXIT_OK;
  }
  if (command === 'help') return helpFor(sub, rest);
  if (command === 'sim' && (sub === undefined || sub === '--help' || sub === '-h')) {
    console.log(SIM_USAGE);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === 'run') return runCommand(argv.slice(1));
  if (command === 'serve') return serveCommand(argv.slice(1));
  if (command === 'history') return historyCommand(argv.slice(1));
  if (command === 'demo') return demoCommand(argv.slice(1));
  if (command === 'outbox') return outboxCommand(argv.slice(1));
  if (command === 'print-test') return printTestCommand(argv.slice(1));
  if (command === 'engineer-pin') return engineerPinCommand(argv.slice(1));
  if (command === 'sim' && sub === 'device') return simDeviceCommand(rest);
  if (command === 'sim' && sub === 'cloud') return simCloudCommand(rest);
  if (command === 'sim' && sub === 'printer') return simPrinterCommand(rest);
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  console.error(`station: unknown command "${[command, sub].filter(Boolean).join(' ')}"\n\n${USAGE}`);
  return EXIT_USAGE;
}

// Every command may run for a shift (run, serve, demo, outbox replay, the simulators): memory that levels off.
holdHeapSteady();
main(process.argv.slice(2)).then(
  (code) => {
    if (code !== EXIT_OK || process.exitCode === undefined) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`station: ${describeError(error)}`);
    // Bad configuration is bad usage: exit 2, as for a wrong option.
    process.exitCode = error instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
  },
);

