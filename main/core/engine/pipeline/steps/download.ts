import { notCached } from '../offline-errors.ts';
import { progressOf, type PipelineDeps, type StepModule, type UnitState } from '../pipeline-types.ts';
import type { PinnedWait } from '../../firmware-cache.ts';

/** The target's image: a pinned file, the cache, or one download shared by every port that needs it. */
export const downloadStep: StepModule = {
  name: 'download',
  applies: () => true,
  create: (deps) => {
    const fromCloud = deps.config.firmware.source === 'cloud';
    return {
      name: 'download',
      cloudStep: fromCloud ? 'download' : undefined,
      run: async (unit) => {
        if (unit.deviceVersion === unit.target!.id) return false;
        if (!fromCloud) return cachedImage(deps, unit);
        const cached = await deps.cache.cached(unit.target!);
        if (cached) {
          unit.image = cached;
          return;
        }
        // Without credentials (an activation waiting in the outbox) nothing can be downloaded, even online.
        if (!unit.credentials) return cachedImage(deps, unit);
        unit.image = await deps.cache.get({ credentials: unit.credentials, version: unit.target!, onProgress: progressOf(deps, unit, 'download'), signal: deps.signal });
      },
      offline: async (unit) => {
        if (unit.deviceVersion !== unit.target!.id) await cachedImage(deps, unit);
      },
    };
  },
};

async function cachedImage(deps: PipelineDeps, unit: UnitState): Promise<void> {
  const { config, cache } = deps;
  unit.image = config.firmware.source === 'file' ? await cache.pinned(config.firmware.path, config.firmware.versionId, { signal: deps.signal, onWaiting: waitingFor(deps, unit) }) : await cache.cached(unit.target!);
  if (!unit.image) throw notCached(unit.target!.id);
}

/** The tile and the JSON events say the unit waits for its pinned firmware file to stand still. */
function waitingFor(deps: PipelineDeps, unit: UnitState): PinnedWait['onWaiting'] {
  return (reason, until) => deps.emit({ type: 'waiting', port: deps.port, serial: unit.serial, step: 'download', for: 'firmware-file', reason, until });
}
