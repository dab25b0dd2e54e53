/**
 * EvaluatorActor: evaluation on the trainer's own weights. It lives in the trainer's worker (it must
 * see the same weights between optimizer steps) and is also a stage of its own for eval-only runs
 * (`do_train: false`), where it loads the model and evaluates `eval_dataset`.
 *
 * eval_loss follows HF's evaluation loop: the mean token loss of each batch, averaged over samples
 * (each batch's mean weighted by its row count); eval_perplexity = exp(eval_loss), Infinity on overflow.
 */
import type { JsonValue } from '../schemas/ports';
import type { MicroBatch } from '../src/engine/batch';
import { initBackend, type BackendRequest } from '../src/engine/backend';
import { backendStartLine } from '../src/engine/backend-line';
import type { LlamaModel } from '../src/engine/model/llama';
import { countLossTokens } from '../src/engine/batch';
import { speedMetrics } from '../src/outputs/log-entries';
import { defineStage } from '../src/pipeline/stage';
import { setupModel, type ModelSetupParams } from '../src/train/model-setup';
import { decodeTrainBatch } from '../schemas/train-batch';
import * as tf from '@tensorflow/tfjs-core';

export interface EvalMetrics {
  eval_loss: number;
  eval_perplexity: number;
  eval_runtime: number;
  eval_samples_per_second: number;
  eval_steps_per_second: number;
  [k: string]: number;
}

/** Mean token loss of one batch (sum over non-ignored shifted labels / their count). */
export function batchMeanLoss(model: LlamaModel, b: MicroBatch): number {
  const count = countLossTokens(b);
  if (count === 0) return NaN;
  const sum = tf.tidy(() => model.lossSum(b));
  const v = sum.dataSync()[0];
  sum.dispose();
  return v / count;
}

export function evaluate(model: LlamaModel, batches: MicroBatch[]): EvalMetrics {
  const t0 = performance.now();
  const s = evalSums(model, batches);
  return evalMetricsOf(s, (performance.now() - t0) / 1000, batches.length);
}

/** Σ over batches of (batch mean loss × rows), and the rows counted (batches without a label skipped). */
export interface EvalSums {
  weighted: number;
  samples: number;
}

export function evalSums(model: LlamaModel, batches: MicroBatch[]): EvalSums {
  let weighted = 0;
  let samples = 0;
  for (const b of batches) {
    const mean = batchMeanLoss(model, b);
    if (Number.isNaN(mean)) continue;
    weighted += mean * b.batchSize;
    samples += b.batchSize;
  }
  return { weighted, samples };
}

/** The metrics of sums over all evaluation batches (of one process, or added up over ranks). */
export function evalMetricsOf(s: EvalSums, runtime: number, steps: number): EvalMetrics {
  const evalLoss = s.samples > 0 ? s.weighted / s.samples : NaN;
  const perplexity = Math.exp(evalLoss); // Infinity on overflow, as Python's math.exp guarded by HF
  return {
    eval_loss: evalLoss,
    eval_perplexity: perplexity,
    ...speedMetrics('eval', runtime, { numSamples: s.samples, numSteps: steps }),
  } as EvalMetrics;
}

export interface EvalOnlyParams extends ModelSetupParams {
  backend: BackendRequest;
  webgpu_allow_software: boolean;
  num_threads: number | null;
}

/** Eval-only run: load the model at model_name_or_path, evaluate every batch on the `eval` input. */
export const stage = defineStage<EvalOnlyParams>(async (ctx) => {
  const p = ctx.params;
  const backend = await initBackend(p.backend, { threads: p.num_threads ?? undefined, webgpuAllowSoftware: p.webgpu_allow_software });
  ctx.log('info', backendStartLine(backend));
  const model = await setupModel({ ...p, train_from_scratch: false, finetuning_type: 'full' }, null);
  const batches: MicroBatch[] = [];
  for await (const m of ctx.input('eval')) batches.push(decodeTrainBatch(m.payload));
  const metrics = evaluate(model, batches);
  ctx.emit('eval.result', {
    eval_loss: metrics.eval_loss,
    eval_perplexity: metrics.eval_perplexity,
    eval_runtime: metrics.eval_runtime,
    eval_samples: batches.reduce((a, b) => a + b.batchSize, 0),
    epoch: 0,
  });
  return { eval_metrics: metrics as unknown as JsonValue };
});
