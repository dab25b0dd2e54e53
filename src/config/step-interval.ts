/**
 * `logging_steps`, `save_steps` and `eval_steps` below 1 are a fraction of the total optimizer
 * steps (Hugging Face Trainer: `math.ceil(max_steps * ratio)`); 1 and above are a step count.
 */

/** The interval in optimizer steps for a configured `value` when the run has `totalSteps` steps. */
export function resolveStepInterval(value: number, totalSteps: number): number {
  if (!(value > 0)) throw new RangeError(`step interval must be > 0, got ${value}`);
  return value < 1 ? Math.ceil(totalSteps * value) : value;
}
