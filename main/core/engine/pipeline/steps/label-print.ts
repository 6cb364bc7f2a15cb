import { isStationError } from '../../../errors.ts';
import { renderLabel, type LabelValues } from '../../../labels/label-template.ts';
import type { StepModule } from '../pipeline-types.ts';

/**
 * A label for the unit that passed. A printer that is off or out of labels
 * never holds the line up or fails the unit: the record says the label was
 * not printed and why, and it can be printed again. The label's values are
 * kept with the attempt, so a reprint prints the same label.
 */
export const labelPrintStep: StepModule = {
  name: 'label-print',
  applies: ({ config }) => config.labels?.print !== undefined,
  create: (deps) => {
    const print = deps.config.labels.print!;
    return {
      name: 'label-print',
      run: async (unit) => {
        const values = presentValues({
          serial: unit.serial,
          thingId: unit.credentials?.thingId,
          versionId: unit.target?.id,
          date: new Date().toISOString().slice(0, 10),
          slot: deps.slot,
          operator: deps.operator,
        });
        const label = renderLabel(print.template, values);
        try {
          await deps.printer!.print(label, deps.signal);
        } catch (error) {
          if (isStationError(error) && error.code === 'LABEL_NOT_PRINTED') {
            unit.labelNotPrinted = error.describe();
            deps.journal.recordLabel(unit.unitId!, values, unit.labelNotPrinted);
            return unit.labelNotPrinted;
          }
          throw error;
        }
        deps.journal.recordLabel(unit.unitId!, values);
      },
    };
  },
};

/** The values a label has (absent ones print as nothing, and are not kept). */
function presentValues(values: { [K in keyof LabelValues]: string | undefined }): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}
