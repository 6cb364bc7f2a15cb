import { isStationError } from '../../../errors.ts';
import { renderLabel } from '../../../labels/label-template.ts';
import type { StepModule } from '../pipeline-types.ts';

/**
 * A label for the unit that passed. A printer that is off or out of labels
 * never holds the line up or fails the unit: the record says the label was
 * not printed and why, and it can be printed again.
 */
export const labelPrintStep: StepModule = {
  name: 'label-print',
  applies: ({ config }) => config.labels?.print !== undefined,
  create: (deps) => {
    const print = deps.config.labels.print!;
    return {
      name: 'label-print',
      run: async (unit) => {
        const label = renderLabel(print.template, {
          serial: unit.serial,
          thingId: unit.credentials?.thingId,
          versionId: unit.target?.id,
          date: new Date().toISOString().slice(0, 10),
          slot: deps.slot,
          operator: deps.operator,
        });
        try {
          await deps.printer!.print(label, deps.signal);
        } catch (error) {
          if (isStationError(error) && error.code === 'LABEL_NOT_PRINTED') {
            unit.labelNotPrinted = error.describe();
            return unit.labelNotPrinted;
          }
          throw error;
        }
      },
    };
  },
};
