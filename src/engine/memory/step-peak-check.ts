/**
 * The check behind estimate.test.ts (wasm) and estimate-cpu.test.ts (cpu): train a small model two
 * steps (the second one with AdamW's state in place), measure the peak tensor bytes of the second
 * with the backend's own probe, and compare the estimate with it.
 */
import type { MicroBatch } from '../batch';
import { randomWeights, tinyConfig } from '../gradcheck/fixtures';
import { LlamaModel } from '../model/llama';
import { AdamW } from '../optim/adamw';
import { TrainStep } from '../train-step';
import { estimateStepMemory, parameterCount } from './estimate';

/** name, config overrides, batch, sequence length, gradient accumulation */
export type PeakShape = [string, Record<string, unknown>, number, number, number];

export interface PeakProbe {
  /** Bytes of tensors held now. */
  inUse(): number;
  /** Peak bytes since the last reset. */
  peak(): number;
  resetPeak(): void;
}

function batch(B: number, T: number, V: number): MicroBatch {
  const ids = new Int32Array(B * T).map((_, i) => (i * 7 + 3) % V);
  return { batchSize: B, seqLen: T, inputIds: ids, labels: ids.slice(), attentionMask: new Int32Array(B * T).fill(1) } as MicroBatch;
}

/** estimate ÷ measured peak of the second training step. */
export function estimateToPeakRatio(
  shape: PeakShape,
  /** true: every layer; false: none; a number: that many of the bottom layers. */
  checkpointing: boolean | number,
  probe: PeakProbe,
  fusedKernels: boolean,
  bufferPoolLimitBytes?: number,
): number {
  const [, over, B, T, accum] = shape;
  const cfg = tinyConfig(over);
  const base = probe.inUse();
  const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 5));
  model.setGradientCheckpointing(checkpointing);
  const opt = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
  try {
    const ts = new TrainStep(model, opt, () => 1e-3);
    const window = Array.from({ length: accum }, () => batch(B, T, cfg.vocabSize));
    ts.step(window);
    probe.resetPeak();
    ts.step(window);
    const est = estimateStepMemory(cfg, {
      batchSize: B, seqLen: T, gradientAccumulationSteps: accum, gradientCheckpointing: model.gradientCheckpointing, checkpointedLayers: model.checkpointedLayers,
      trainableParams: parameterCount(cfg), fusedKernels,
      ...(bufferPoolLimitBytes !== undefined ? { bufferPoolLimitBytes } : {}),
    });
    const ratio = est.total / (probe.peak() - base);
    if (process.env['PTFLOW_ESTIMATE_VERBOSE']) console.log(`${shape[0]} ck=${checkpointing}: estimate ${est.total} ratio ${ratio.toFixed(3)}`);
    return ratio;
  } finally {
    model.dispose();
    opt.dispose();
  }
}
