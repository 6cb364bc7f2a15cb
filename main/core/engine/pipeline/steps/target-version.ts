import { noTarget } from '../offline-errors.ts';
import { lastTargetSetting, type PipelineDeps, type StepModule, type UnitState } from '../pipeline-types.ts';

/** The version the unit should run: the pinned file's, the cloud's, or (offline) the last one the cloud named. */
export const targetVersionStep: StepModule = {
  name: 'target-version',
  applies: () => true,
  create: (deps) => {
    const fromCloud = deps.config.firmware.source === 'cloud';
    return {
      name: 'target-version',
      cloudStep: fromCloud ? 'target-version' : undefined,
      run: async (unit) => {
        if (!fromCloud || !unit.credentials) return knownTarget(deps, unit);
        unit.target = await deps.adapter.targetVersion!(unit.credentials, { signal: deps.signal });
        deps.journal.setSetting(lastTargetSetting(deps.adapter.account), unit.target.id);
        deps.journal.setCloudIds(unit.unitId!, { versionId: unit.target.id });
      },
      offline: (unit) => knownTarget(deps, unit),
    };
  },
};

async function knownTarget(deps: PipelineDeps, unit: UnitState): Promise<void> {
  const { config, journal, adapter } = deps;
  const id = config.firmware.source === 'file' ? config.firmware.versionId : journal.setting(lastTargetSetting(adapter.account));
  if (!id) throw noTarget();
  unit.target = { id };
  journal.setCloudIds(unit.unitId!, { versionId: id });
}
