import { lastTarget, rememberTarget } from '../last-target.ts';
import { noTarget } from '../offline-errors.ts';
import type { PipelineDeps, StepModule, UnitState } from '../pipeline-types.ts';

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
        rememberTarget(deps.journal, deps.adapter.account, unit.target);
        deps.journal.setCloudIds(unit.unitId!, { versionId: unit.target.id });
      },
      offline: (unit) => knownTarget(deps, unit),
    };
  },
};

/**
 * Without the cloud: the pinned file's version, or the last target the cloud
 * named, with its revision. Offline the station cannot see a re-upload under
 * that id (Exosite publishes a fix as new bytes under the same content): it
 * flashes the last image it verified for that target, and takes the new one
 * from the first unit that runs while the cloud answers again.
 */
async function knownTarget(deps: PipelineDeps, unit: UnitState): Promise<void> {
  const { config, journal, adapter } = deps;
  const target = config.firmware.source === 'file' ? { id: config.firmware.versionId } : lastTarget(journal, adapter.account);
  if (!target) throw noTarget();
  unit.target = target;
  journal.setCloudIds(unit.unitId!, { versionId: target.id });
}
