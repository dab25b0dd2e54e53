/**
 * `train_results.json` / `eval_results.json` / `all_results.json` (transformers `save_metrics`):
 * one flat object of numbers, sorted keys, indent 4. These are the keys ptflow writes; other keys
 * (from an earlier run's `all_results.json`) are kept as they are.
 */
import { z } from 'zod';
import { pyNumber } from './trainer-state';

export const trainResultsSchema = z.object({
  epoch: pyNumber,
  total_flos: pyNumber,
  train_loss: pyNumber,
  train_runtime: pyNumber,
  train_samples_per_second: pyNumber.optional(),
  train_steps_per_second: pyNumber.optional(),
  train_tokens_per_second: pyNumber.optional(),
});
export type TrainResults = z.infer<typeof trainResultsSchema>;

export const evalResultsSchema = z.object({
  epoch: pyNumber.optional(),
  eval_loss: pyNumber,
  /** exp(eval_loss); Infinity when that overflows. */
  eval_perplexity: pyNumber,
  eval_runtime: pyNumber,
  eval_samples_per_second: pyNumber.optional(),
  eval_steps_per_second: pyNumber.optional(),
});
export type EvalResults = z.infer<typeof evalResultsSchema>;

export const allResultsSchema = z.record(z.string(), pyNumber);
