import type { OperatorPrompt } from './operator-prompts.ts';
import type { PipelineStep } from '../../../contract/pipeline-steps.ts';

export { PIPELINE_STEPS, type PipelineStep } from '../../../contract/pipeline-steps.ts';

export type UnitResultKind = 'passed' | 'failed' | 'pending';

/** The final record of one unit, as the CLI prints it (--json) and the UI shows it. */
export interface UnitOutcome {
  type: 'unit';
  port: string;
  serial: string | undefined;
  result: UnitResultKind;
  failedStep: PipelineStep | undefined;
  error: string | undefined;
  /** The StationError code of a failure (e.g. PORT_DISCONNECTED), so screens can tell "fix the unit" from "fix the setup". */
  errorCode?: string;
  thingId: string | undefined;
  versionId: string | undefined;
  /** The unit passed but its label could not be printed: why (it can be printed again from History). */
  labelNotPrinted?: string;
  /** Milliseconds per step that ran. */
  steps: Partial<Record<PipelineStep, number>>;
  unitId: number | undefined;
  /** This try's record in History (what a reprint of its label names). */
  attemptId?: number;
}

/**
 * Whether an outcome is about a unit: every unit that answered has a record.
 * A port stopped before any unit answered (an empty slot) ends with an
 * outcome for its tile, and no unit: it counts nowhere.
 */
export function hasUnit(outcome: Pick<UnitOutcome, 'unitId'>): boolean {
  return outcome.unitId !== undefined;
}

export type StationEvent =
  /** When a unit starts: the steps its port will run, in order (from the cloud's declared steps and the driver's capabilities). */
  | { type: 'plan'; port: string; serial: undefined; steps: PipelineStep[] }
  | { type: 'step'; port: string; serial: string | undefined; step: PipelineStep; status: 'started' | 'done' | 'skipped' | 'failed'; durationMs?: number; error?: string }
  | {
      type: 'progress';
      port: string;
      serial: string | undefined;
      step: 'download' | 'flash';
      bytesDone: number;
      total: number;
      bytesPerSecond: number;
      secondsLeft: number | undefined;
    }
  /** The unit waits for the operator (a label to scan…) on its tile; `prompt` undefined when it no longer does. */
  | { type: 'prompt'; port: string; serial: string | undefined; prompt: OperatorPrompt | undefined }
  /**
   * The unit waits, until `until` (epoch ms): for the cloud, when it needs what only the cloud can give (its first target,
   * firmware not cached); for the firmware file, when the pinned file is being written and must stand still first.
   */
  | { type: 'waiting'; port: string; serial: string | undefined; step: PipelineStep; for: 'cloud' | 'firmware-file'; reason: string; until: number }
  | UnitOutcome;
