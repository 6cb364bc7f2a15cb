/**
 * The pipeline's steps, in the order a unit goes through them: the one
 * vocabulary the engine, the cloud adapters, the outbox, the journal and the
 * screens share.
 */
export const PIPELINE_STEPS = [
  'identify',
  'label-check',
  'activate',
  'register',
  'rename',
  'target-version',
  'current-version',
  'download',
  'flash',
  'write-credentials',
  'verify-credentials',
  'reboot',
  'confirm',
  'label-print',
] as const;

export type PipelineStep = (typeof PIPELINE_STEPS)[number];
