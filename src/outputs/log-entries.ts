/**
 * The entries of `log_history` exactly as the Hugging Face Trainer (4.57) builds them:
 * - a training log   {loss, grad_norm, learning_rate, epoch, step}  (`_maybe_log_save_evaluate`:
 *   loss = mean since the last log, rounded to 4 places; grad_norm and learning_rate unrounded),
 * - an evaluation    {eval_loss, eval_runtime, eval_samples_per_second, eval_steps_per_second, epoch, step},
 * - the final one    {train_runtime, train_samples_per_second, train_steps_per_second, total_flos,
 *   train_loss, epoch, step}.
 * `Trainer.log` appends `epoch` (unrounded since 4.4x) and then `step`; `speed_metrics` rounds the
 * runtime to 4 places and the rates to 3. Key order here is insertion order, as in Python.
 */
import type { LogEntry } from '../../schemas/outputs/trainer-state';
import { PtflowError } from '../errors';
import { pyRound } from './pyjson';

/** Metrics without the `step` that `Trainer.log` adds (what `*_results.json` files hold). */
export type Metrics = Record<string, number>;

/**
 * HF `speed_metrics(split, start_time, num_samples, num_steps, num_tokens)` given the measured
 * runtime in seconds. A zero runtime gives only `{split}_runtime`, as in HF.
 */
export function speedMetrics(
  split: string,
  runtimeSeconds: number,
  counts: { numSamples?: number; numSteps?: number; numTokens?: number } = {},
): Metrics {
  const result: Metrics = { [`${split}_runtime`]: pyRound(runtimeSeconds, 4) };
  if (runtimeSeconds === 0) return result;
  if (counts.numSamples !== undefined) result[`${split}_samples_per_second`] = pyRound(counts.numSamples / runtimeSeconds, 3);
  if (counts.numSteps !== undefined) result[`${split}_steps_per_second`] = pyRound(counts.numSteps / runtimeSeconds, 3);
  if (counts.numTokens !== undefined) result[`${split}_tokens_per_second`] = pyRound(counts.numTokens / runtimeSeconds, 3);
  return result;
}

/**
 * HF `floating_point_ops` for one batch: 6 × tokens × parameters, where tokens counts every
 * position of `input_ids` (padding included) and the parameters are all but the input embedding
 * (`num_parameters(exclude_embeddings=True)`: an untied lm_head and LoRA adapters count). Add it up
 * (as a float) into `state.total_flos`.
 */
export function floatingPointOps(numTokens: number, nonEmbeddingParams: number): number {
  return 6 * numTokens * nonEmbeddingParams;
}

/**
 * `state.epoch` as HF computes it inside the loop: completed epochs plus the fraction of this
 * epoch's micro-batches done (`epoch + (step + 1) / steps_in_epoch`), in float64 like Python.
 */
export function epochAt(completedEpochs: number, microBatchesDoneInEpoch: number, microBatchesPerEpoch: number): number {
  if (!(microBatchesPerEpoch > 0)) {
    throw new PtflowError(`epochAt: micro-batches per epoch must be positive, got ${microBatchesPerEpoch}`);
  }
  return completedEpochs + microBatchesDoneInEpoch / microBatchesPerEpoch;
}

/** What `Trainer.log` does to `logs`: append `epoch` (when known), optionally `num_input_tokens_seen`. */
export function withEpoch(metrics: Metrics, epoch: number | null, numInputTokensSeen?: number): Metrics {
  const out: Metrics = { ...metrics };
  if (epoch !== null) out.epoch = epoch;
  if (numInputTokensSeen !== undefined) out.num_input_tokens_seen = numInputTokensSeen;
  return out;
}

/** The `log_history` entry: `{**logs, "step": global_step}`. */
export function withStep(metrics: Metrics, step: number): LogEntry {
  if (!Number.isInteger(step) || step < 0) throw new PtflowError(`log entry step must be a non-negative integer, got ${step}`);
  return { ...metrics, step };
}

export interface TrainLogInput {
  /** Sum of the per-step losses since the last log, divided by the steps since then (unrounded). */
  meanLoss: number;
  /** Global gradient norm before clipping at the last step; omitted when not computed. */
  gradNorm?: number | null;
  /** Learning rate applied in the last step. */
  learningRate: number;
  epoch: number | null;
  step: number;
  /** Only when the run counts input tokens (HF `include_num_input_tokens_seen`). */
  numInputTokensSeen?: number;
}

/** A training log entry `{loss, grad_norm, learning_rate, epoch, step}`. */
export function trainLogEntry(input: TrainLogInput): LogEntry {
  const logs: Metrics = { loss: pyRound(input.meanLoss, 4) };
  if (input.gradNorm !== undefined && input.gradNorm !== null) logs.grad_norm = input.gradNorm;
  logs.learning_rate = input.learningRate;
  return withStep(withEpoch(logs, input.epoch, input.numInputTokensSeen), input.step);
}

export interface EvalInput {
  /** Mean loss over the evaluation set (unrounded). */
  loss: number;
  runtimeSeconds: number;
  numSamples: number;
  /** Evaluation batches: ceil(numSamples / eval batch size). */
  numSteps: number;
  epoch: number | null;
  /** Metric prefix, `eval` unless several evaluation sets are named. */
  prefix?: string;
}

/** The metrics `Trainer.evaluate` returns (and `eval_results.json` starts from), with `epoch`. */
export function evalMetrics(input: EvalInput): Metrics {
  const prefix = input.prefix ?? 'eval';
  return withEpoch(
    {
      [`${prefix}_loss`]: input.loss,
      ...speedMetrics(prefix, input.runtimeSeconds, { numSamples: input.numSamples, numSteps: input.numSteps }),
    },
    input.epoch,
  );
}

/** The evaluation entry of `log_history`. */
export function evalLogEntry(input: EvalInput & { step: number }): LogEntry {
  return withStep(evalMetrics(input), input.step);
}

export interface FinalTrainInput {
  runtimeSeconds: number;
  /** HF `num_train_samples`: max_steps × total batch when max_steps > 0, else samples × epochs. */
  numSamples: number;
  /** HF passes `state.max_steps`. */
  numSteps: number;
  /** Only when tokens per second are reported (HF `include_tokens_per_second`). */
  numTokens?: number;
  totalFlos: number;
  /** Mean training loss over the whole run (unrounded). */
  trainLoss: number;
  epoch: number | null;
}

/** The metrics `trainer.train()` returns (what `train_results.json` holds), with `epoch`. */
export function finalTrainMetrics(input: FinalTrainInput): Metrics {
  return withEpoch(
    {
      ...speedMetrics('train', input.runtimeSeconds, {
        numSamples: input.numSamples,
        numSteps: input.numSteps,
        numTokens: input.numTokens,
      }),
      total_flos: input.totalFlos,
      train_loss: input.trainLoss,
    },
    input.epoch,
  );
}

/** The final entry of `log_history`. */
export function finalTrainLogEntry(input: FinalTrainInput & { step: number }): LogEntry {
  return withStep(finalTrainMetrics(input), input.step);
}
