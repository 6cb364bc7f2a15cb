import { loadLineConfig } from '../core/config/line-config.ts';
import { describeError } from '../core/errors.ts';
import { createLabelPrinter } from '../core/labels/label-printer.ts';
import { renderLabel, sampleLabelValues } from '../core/labels/label-template.ts';
import { parseCommand } from './args.ts';

const HELP = `Usage: station print-test --config FILE

Prints one sample label (serial THERM00000000000042, today's date…) with the
line configuration's label template on its printer (labels.print), so the
template and the printer can be checked before the line runs.
Exit status: 0 printed, 1 the printer did not take it, 2 bad usage or configuration.`;

export async function printTestCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand('print-test', argv, { config: { type: 'string' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const { config: path } = parsed.values as { config?: string };
  if (!path) {
    console.error(`station print-test: --config is required\n\n${HELP}`);
    return 2;
  }
  const print = (await loadLineConfig(path)).labels.print;
  if (!print) {
    console.error(`station print-test: ${path} prints no labels (add "labels": {"print": {"printer": …}})`);
    return 2;
  }
  const printer = createLabelPrinter(print.printer, { timeoutMs: print.timeoutSeconds * 1000 });
  try {
    await printer.print(renderLabel(print.template, sampleLabelValues()));
  } catch (error) {
    console.error(`station print-test: ${describeError(error)}`);
    return 1;
  }
  console.log(`a sample label went to ${printer.name}`);
  return 0;
}
