import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXOSITE_STEPS } from '../../main/core/cloud/exosite/adapter.ts';
import { FLEET_FREEDOM_STEPS } from '../../main/core/cloud/fleetfreedom/adapter.ts';
import { GADGETKEEPER_STEPS } from '../../main/core/cloud/gadgetkeeper/adapter.ts';
import { parseTextProfile, referenceProfile } from '../../main/core/devices/profile/load-profile.ts';
import { profileCapabilities } from '../../main/core/devices/profile-driver.ts';
import { planSteps } from '../../main/core/engine/pipeline/step-plan.ts';

const reference = profileCapabilities(referenceProfile);
const at = profileCapabilities(parseTextProfile(JSON.parse(readFileSync('profiles/examples/at-thermometer.json', 'utf8'))));
const fromCloud = { source: 'cloud' } as const;
const pinned = { source: 'file', path: '/fw.bin', versionId: 'fw-1' } as const;

describe('the step plan, from the cloud\'s declared steps and the driver\'s capabilities', () => {
  it('GadgetKeeper with a reference unit: activation, rename (with a template), flash, credentials, reboot, confirm', () => {
    expect(planSteps({ cloud: GADGETKEEPER_STEPS, capabilities: reference, config: { firmware: fromCloud, thingNameTemplate: 'T-{serial}' } })).toEqual([
      'identify', 'activate', 'rename', 'target-version', 'current-version', 'download', 'flash', 'write-credentials', 'verify-credentials', 'reboot', 'confirm',
    ]);
    // No template, no rename.
    expect(planSteps({ cloud: GADGETKEEPER_STEPS, capabilities: reference, config: { firmware: fromCloud } })).not.toContain('rename');
  });

  it('Exosite: no rename step even with a template (the cloud declares none)', () => {
    expect(planSteps({ cloud: EXOSITE_STEPS, capabilities: reference, config: { firmware: fromCloud, thingNameTemplate: 'T-{serial}' } })).toEqual([
      'identify', 'activate', 'target-version', 'current-version', 'download', 'flash', 'write-credentials', 'verify-credentials', 'reboot', 'confirm',
    ]);
  });

  it('Fleet Freedom: registration, no credentials to write and nothing to confirm', () => {
    expect(planSteps({ cloud: FLEET_FREEDOM_STEPS, capabilities: reference, config: { firmware: pinned } })).toEqual([
      'identify', 'register', 'target-version', 'current-version', 'download', 'flash', 'reboot',
    ]);
  });

  it('the driver decides the rest: a unit that cannot report its version, store credentials or reboot is not asked to', () => {
    // The AT example profile has no flash and no reboot command.
    expect(planSteps({ cloud: GADGETKEEPER_STEPS, capabilities: at, config: { firmware: fromCloud } })).toEqual([
      'identify', 'activate', 'target-version', 'current-version', 'download', 'flash', 'write-credentials', 'verify-credentials', 'confirm',
    ]);
    expect(planSteps({ cloud: GADGETKEEPER_STEPS, capabilities: { readVersion: false, credentials: false, flash: true, reboot: false }, config: { firmware: fromCloud } })).toEqual([
      'identify', 'activate', 'target-version', 'download', 'flash', 'confirm',
    ]);
  });
});
