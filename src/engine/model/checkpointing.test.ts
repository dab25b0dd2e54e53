// Gradient checkpointing: the same loss, gradients and updated weights bit for bit with and
// without it, and with only the bottom layers checkpointed (full, freeze and LoRA; stock cpu
// kernels and wasm with the native kernels, as training runs them), and fewer tensor bytes at the
// step's peak.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../backend';
import type { MicroBatch } from '../batch';
import { packedBatch, paddedBatch, randomWeights, tinyConfig } from '../gradcheck/fixtures';
import { AdamW } from '../optim/adamw';
import { TrainStep } from '../train-step';
import { LlamaModel, type FinetuningArgs } from './llama';

afterAll(async () => {
  await shutdownBackend();
});

const CASES: Array<[string, FinetuningArgs]> = [
  ['full', { finetuningType: 'full' }],
  ['freeze', { finetuningType: 'freeze', trainableLayers: 1 }],
  ['lora', { finetuningType: 'lora', rank: 2, alpha: 4, dropout: 0.1, target: 'all', seed: 3 }],
];

/** Two AdamW steps over a window of two micro-batches; returns losses, grad norms and weights. */
function train(checkpointing: boolean | number, ft: FinetuningArgs): { losses: number[]; norms: number[]; weights: Float32Array[] } {
  const cfg = tinyConfig({ num_hidden_layers: 3 });
  const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 7));
  model.setFinetuning(ft);
  model.setGradientCheckpointing(checkpointing);
  const opt = new AdamW(model.trainableParams(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const ts = new TrainStep(model, opt, () => 0.05, { maxGradNorm: 1 });
  const window: MicroBatch[] = [paddedBatch(), packedBatch()];
  const losses: number[] = [];
  const norms: number[] = [];
  for (let s = 0; s < 2; s++) {
    const r = ts.step(window);
    losses.push(r.loss);
    norms.push(r.gradNorm);
  }
  const all = [...model.params.values(), ...(model.lora?.params.values() ?? [])];
  const weights = all.map((v) => (v.dataSync() as Float32Array).slice());
  model.dispose();
  opt.dispose();
  return { losses, norms, weights };
}

describe.each(['cpu', 'wasm'] as const)('gradient checkpointing on %s', (backend) => {
  beforeAll(async () => {
    await shutdownBackend();
    const info = await initBackend(backend, { threads: 1 });
    expect(info.name).toBe(backend);
  });

  test.each(CASES)('%s: bit-identical losses, gradient norms and weights on, off, and for the bottom layers only', (_name, ft) => {
    const before = tf.memory().numTensors;
    const off = train(false, ft);
    for (const ck of [true, 1, 2]) {
      const on = train(ck, ft);
      expect(on.losses).toEqual(off.losses);
      expect(on.norms).toEqual(off.norms);
      expect(on.weights.length).toBe(off.weights.length);
      on.weights.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(off.weights[i].buffer))).toBe(true));
    }
    expect(off.losses[1]).not.toEqual(off.losses[0]); // the weights did move
    // The recomputation leaves nothing behind.
    expect(tf.memory().numTensors).toBe(before);
  });

  test('keeps fewer tensor bytes at the peak of a step, the fewer the more layers are checkpointed', async () => {
    const cfg = tinyConfig({ num_hidden_layers: 6, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2 });
    const peak = async (on: boolean | number): Promise<number> => {
      const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 1));
      model.setGradientCheckpointing(on);
      const b = packedBatch();
      const vars = [...model.trainableParams().values()];
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => model.lossSum(b), vars);
        value.dispose();
        for (const g of Object.values(grads)) g.dispose();
      });
      model.dispose();
      return info.peakBytes;
    };
    const off = await peak(false);
    const on = await peak(true);
    expect(on).toBeLessThan(off * 0.8);
    const half = await peak(3);
    expect(half).toBeLessThan(off);
    expect(half).toBeGreaterThan(on);
  });

  test('a number of layers outside 0..L is refused', () => {
    const cfg = tinyConfig({ num_hidden_layers: 3 });
    const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 1));
    for (const bad of [-1, 4, 1.5]) expect(() => model.setGradientCheckpointing(bad)).toThrow(/whole number from 0 to 3/);
    model.setGradientCheckpointing(2);
    expect(model.checkpointedLayers).toBe(2);
    expect(model.gradientCheckpointing).toBe(true);
    model.setGradientCheckpointing(0);
    expect(model.gradientCheckpointing).toBe(false);
    model.dispose();
  });
});
