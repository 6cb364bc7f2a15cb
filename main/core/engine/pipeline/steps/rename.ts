import type { StepModule } from '../pipeline-types.ts';

/** Names the thing from the line's thingNameTemplate. */
export const renameStep: StepModule = {
  name: 'rename',
  applies: ({ cloud, config }) => cloud.rename !== undefined && config.thingNameTemplate !== undefined,
  create: (deps) => {
    const template = deps.config.thingNameTemplate!;
    const name = (serial: string) => template.replaceAll('{serial}', serial);
    return {
      name: 'rename',
      cloudStep: 'rename',
      run: async (unit) => deps.adapter.rename!(unit.credentials!, name(unit.serial!), { signal: deps.signal }),
      deferrable: { call: 'rename', payload: (unit) => ({ name: name(unit.serial!) }) },
    };
  },
};
