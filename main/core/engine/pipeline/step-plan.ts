import type { PipelineStep } from '../events.ts';
import type { PipelineDeps, PlanContext, Step, StepModule } from './pipeline-types.ts';
import { activateStep } from './steps/activate.ts';
import { confirmStep } from './steps/confirm.ts';
import { currentVersionStep } from './steps/current-version.ts';
import { downloadStep } from './steps/download.ts';
import { flashStep } from './steps/flash.ts';
import { identifyStep } from './steps/identify.ts';
import { labelCheckStep } from './steps/label-check.ts';
import { labelPrintStep } from './steps/label-print.ts';
import { rebootStep } from './steps/reboot.ts';
import { registerStep } from './steps/register.ts';
import { renameStep } from './steps/rename.ts';
import { targetVersionStep } from './steps/target-version.ts';
import { verifyCredentialsStep } from './steps/verify-credentials.ts';
import { writeCredentialsStep } from './steps/write-credentials.ts';

/** Every step there is, in the order a unit goes through them; each decides for itself whether a line needs it. */
export const STEP_MODULES: readonly StepModule[] = [
  identifyStep,
  labelCheckStep,
  activateStep,
  registerStep,
  renameStep,
  targetVersionStep,
  currentVersionStep,
  downloadStep,
  flashStep,
  writeCredentialsStep,
  verifyCredentialsStep,
  rebootStep,
  confirmStep,
  labelPrintStep,
];

/** The steps a line runs for each unit, from the cloud's declared steps, the driver's capabilities and the configuration. */
export function planSteps(context: PlanContext): PipelineStep[] {
  return STEP_MODULES.filter((module) => module.applies(context)).map((module) => module.name);
}

/** The steps of one unit, ready to run. */
export function planUnit(deps: PipelineDeps): Step[] {
  const context: PlanContext = { cloud: deps.adapter.steps, capabilities: deps.capabilities, config: deps.config };
  return STEP_MODULES.filter((module) => module.applies(context)).map((module) => module.create(deps));
}
