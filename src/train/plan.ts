/**
 * The step arithmetic of a run, as HF Trainer does it: how many optimizer steps an epoch has, the
 * total, when to log / evaluate / save, and the fractional epoch reported with each log.
 *
 * - micro-batches per epoch = ceil(blocks / per_device_train_batch_size)
 * - optimizer steps per epoch = ceil(micro-batches / gradient_accumulation_steps); the last step of
 *   an epoch accumulates the leftover micro-batches
 * - total = max_steps when > 0, else ceil(num_train_epochs × steps per epoch)
 * - logging/eval/save steps < 1 are a ratio of the total (ceil), as HF does
 * (the fractional epoch of a log is `epochAt` in src/outputs/log-entries.ts)
 */
export interface PlanInput {
  /** Training blocks per epoch (null when streaming: unknown). */
  blocks: number | null;
  batchSize: number;
  gradAccum: number;
  numTrainEpochs: number;
  maxSteps: number;
  loggingSteps: number;
  evalSteps: number | null;
  saveSteps: number;
  evalStrategy: 'no' | 'steps' | 'epoch';
  saveStrategy: 'no' | 'steps' | 'epoch';
}

export interface RunPlan {
  microPerEpoch: number | null;
  stepsPerEpoch: number | null;
  totalSteps: number;
  /** Epochs the data source must provide (integer, ≥ 1); null when streaming. */
  epochsNeeded: number | null;
  loggingSteps: number;
  evalSteps: number;
  saveSteps: number;
}

export function ratioOrSteps(v: number, total: number): number {
  return v > 0 && v < 1 ? Math.ceil(total * v) : Math.round(v);
}

export function makePlan(p: PlanInput): RunPlan {
  let microPerEpoch: number | null = null;
  let stepsPerEpoch: number | null = null;
  if (p.blocks !== null) {
    microPerEpoch = Math.ceil(p.blocks / p.batchSize);
    stepsPerEpoch = Math.max(1, Math.ceil(microPerEpoch / p.gradAccum));
  }
  let totalSteps: number;
  if (p.maxSteps > 0) totalSteps = p.maxSteps;
  else if (stepsPerEpoch !== null) totalSteps = Math.ceil(p.numTrainEpochs * stepsPerEpoch);
  else throw new Error('max_steps must be > 0 when the dataset size is unknown (streaming)');
  const loggingSteps = Math.max(1, ratioOrSteps(p.loggingSteps, totalSteps));
  const evalSteps = Math.max(1, ratioOrSteps(p.evalSteps ?? p.loggingSteps, totalSteps));
  const saveSteps = Math.max(1, ratioOrSteps(p.saveSteps, totalSteps));
  const epochsNeeded = stepsPerEpoch === null ? null : Math.max(1, Math.ceil(totalSteps / stepsPerEpoch));
  return { microPerEpoch, stepsPerEpoch, totalSteps, epochsNeeded, loggingSteps, evalSteps, saveSteps };
}

export function shouldLog(step: number, plan: RunPlan): boolean {
  return step % plan.loggingSteps === 0;
}

export function shouldEval(step: number, plan: RunPlan, strategy: PlanInput['evalStrategy'], epochEnded: boolean): boolean {
  if (strategy === 'steps') return step % plan.evalSteps === 0;
  if (strategy === 'epoch') return epochEnded;
  return false;
}

export function shouldSave(step: number, plan: RunPlan, strategy: PlanInput['saveStrategy'], epochEnded: boolean): boolean {
  if (strategy === 'steps') return step % plan.saveSteps === 0 || step === plan.totalSteps;
  if (strategy === 'epoch') return epochEnded;
  return false;
}
