import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { countLossTokens, type MicroBatch } from './batch';
import { packedBatch, paddedBatch, randomWeights, tinyConfig, toFloat64 } from './gradcheck/fixtures';
import { referenceLossSum } from './gradcheck/reference';
import { lossAndGrads } from './gradcheck/tf-grads';
import { LlamaModel, type FinetuningArgs } from './model/llama';
import { AdamW } from './optim/adamw';
import { NonFiniteError, TrainStep, type OptimizerLike } from './train-step';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Keeps a copy of the gradients it is given and the learning rates. */
class Recorder implements OptimizerLike {
  grads: Array<Map<string, Float32Array>> = [];
  lrs: number[] = [];
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const m = new Map<string, Float32Array>();
    for (const [n, g] of grads) m.set(n, g.dataSync() as Float32Array);
    this.grads.push(m);
    this.lrs.push(lr);
  }
}

function snapshot(params: Map<string, tf.Variable>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [n, v] of params) out.set(n, (v.dataSync() as Float32Array).slice());
  return out;
}

const window = (): MicroBatch[] => [paddedBatch(), packedBatch()];

describe('TrainStep', () => {
  test('loss is Σ token losses over the window / window count; grads are of that mean', () => {
    const cfg = tinyConfig();
    const w = randomWeights(cfg, 2);
    const model = LlamaModel.fromWeights(cfg, w);
    const rec = new Recorder();
    const ts = new TrainStep(model, rec, (s) => 0.1 * (s + 1), { maxGradNorm: 0 });
    const micro = window();
    const r = ts.step(micro);
    const p64 = toFloat64(w);
    const a = referenceLossSum(cfg, p64, micro[0]);
    const b = referenceLossSum(cfg, p64, micro[1]);
    expect(r.lossTokens).toBe(a.count + b.count);
    expect(r.lossTokens).toBe(6 + 8);
    expect(r.tokens).toBe(8 + 10);
    expect(Math.abs(r.loss - (a.sum + b.sum) / (a.count + b.count))).toBeLessThan(1e-5);
    expect(r.lr).toBeCloseTo(0.1, 12);
    expect(rec.lrs).toEqual([r.lr]);
    // the accumulated gradient equals the gradient of (sum₁ + sum₂) / count in one graph
    const n = r.lossTokens;
    const direct = lossAndGrads(model, () =>
      tf.mul(tf.add(model.lossSum(micro[0]), model.lossSum(micro[1])), 1 / n) as tf.Scalar,
    );
    let sq = 0;
    for (const [name, g] of rec.grads[0]) {
      const d = direct.grads.get(name) as Float32Array;
      for (let i = 0; i < g.length; i++) {
        expect(Math.abs(g[i] - d[i])).toBeLessThan(1e-6 + 1e-4 * Math.abs(d[i]));
        sq += d[i] * d[i];
      }
    }
    expect(r.gradNorm).toBeCloseTo(Math.sqrt(sq), 4);
    expect(ts.stepsDone).toBe(1);
    model.dispose();
  });

  test('gradients are clipped to max_grad_norm; the reported norm is the one before clipping', () => {
    const cfg = tinyConfig();
    const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 2));
    const rec = new Recorder();
    const ts = new TrainStep(model, rec, () => 1e-3, { maxGradNorm: 0.05 });
    const r = ts.step(window());
    let sq = 0;
    for (const g of rec.grads[0].values()) for (const v of g) sq += v * v;
    expect(r.gradNorm).toBeGreaterThan(0.05);
    expect(Math.sqrt(sq)).toBeCloseTo((0.05 * r.gradNorm) / (r.gradNorm + 1e-6), 5);
    model.dispose();
  });

  test.each<[string, FinetuningArgs]>([
    ['full', { finetuningType: 'full' }],
    ['lora with dropout', { finetuningType: 'lora', rank: 2, dropout: 0.1, seed: 3 }],
  ])('same seed → bit-identical losses over 3 steps, no tensor leak (%s)', (_n, ft) => {
    const run = (): number[] => {
      const cfg = tinyConfig();
      const model = LlamaModel.init(cfg, 123);
      model.setFinetuning(ft);
      const opt = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
      const ts = new TrainStep(model, opt, () => 1e-2, { maxGradNorm: 1, seed: 5 });
      const losses: number[] = [];
      const counts: number[] = [];
      for (let s = 0; s < 3; s++) {
        losses.push(ts.step(window()).loss);
        counts.push(tf.memory().numTensors);
      }
      // the optimizer creates its moments in step 1; after that the count stays flat
      expect(counts[2]).toBe(counts[1]);
      opt.dispose();
      model.dispose();
      return losses;
    };
    const before = tf.memory().numTensors;
    const a = run();
    const b = run();
    expect(b).toEqual(a);
    expect(a[2]).toBeLessThan(a[0]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("LoRA dropout masks follow the step's seed (the run's seed), not a fixed one", () => {
    const run = (seed: number): number[] => {
      const cfg = tinyConfig();
      const model = LlamaModel.init(cfg, 123);
      model.setFinetuning({ finetuningType: 'lora', rank: 2, dropout: 0.3, seed: 3 });
      const opt = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
      const ts = new TrainStep(model, opt, () => 1e-2, { maxGradNorm: 1, seed });
      const losses: number[] = [];
      for (let s = 0; s < 3; s++) losses.push(ts.step(window()).loss);
      opt.dispose();
      model.dispose();
      return losses;
    };
    const a = run(5);
    expect(run(5)).toEqual(a);
    // B starts at 0, so step 1 sees no adapter output; from step 2 the masks show in the loss.
    const b = run(6);
    expect(b[0]).toBe(a[0]);
    expect(b.slice(1)).not.toEqual(a.slice(1));
  });

  test('freeze trains only the chosen layers and modules', () => {
    const cfg = tinyConfig({ num_hidden_layers: 3 });
    const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 8));
    model.setFinetuning({ finetuningType: 'freeze', trainableLayers: 1, trainableModules: 'mlp,input_layernorm' });
    const trainable = [...model.trainableParams().keys()].sort();
    expect(trainable).toEqual([
      'model.layers.2.input_layernorm.weight',
      'model.layers.2.mlp.down_proj.weight',
      'model.layers.2.mlp.gate_proj.weight',
      'model.layers.2.mlp.up_proj.weight',
    ]);
    const before = snapshot(model.params);
    const opt = new AdamW(model.trainableParams());
    new TrainStep(model, opt, () => 1e-2).step(window());
    const after = snapshot(model.params);
    for (const [n, v] of before) {
      const changed = v.some((x, i) => x !== (after.get(n) as Float32Array)[i]);
      expect([n, changed]).toEqual([n, trainable.includes(n)]);
    }
    opt.dispose();
    model.dispose();
  });

  test('LoRA with B = 0 computes the base model; a step changes only the adapters', () => {
    const cfg = tinyConfig();
    const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 6));
    const base = model.forward(paddedBatch());
    model.setFinetuning({ finetuningType: 'lora', rank: 4, target: 'q_proj,v_proj,down_proj' });
    const withLora = model.forward(paddedBatch());
    expect(Array.from(withLora.dataSync())).toEqual(Array.from(base.dataSync()));
    tf.dispose([base, withLora]);
    const names = [...model.trainableParams().keys()];
    expect(names).toHaveLength(2 * 2 * 3);
    expect(names).toContain('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');
    const before = snapshot(model.params);
    const opt = new AdamW(model.trainableParams());
    new TrainStep(model, opt, () => 1e-2).step(window());
    const after = snapshot(model.params);
    for (const [n, v] of before) expect([n, Array.from(after.get(n) as Float32Array)]).toEqual([n, Array.from(v)]);
    const bAfter = model.trainableParams().get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight');
    expect((bAfter as tf.Variable).dataSync().some((x) => x !== 0)).toBe(true);
    opt.dispose();
    model.dispose();
  });

  test('a non-finite loss throws NonFiniteError naming the step, or is skipped on request', () => {
    const cfg = tinyConfig();
    const w = randomWeights(cfg, 1);
    (w.get('model.norm.weight') as { data: Float32Array }).data[0] = NaN;
    const model = LlamaModel.fromWeights(cfg, w);
    const rec = new Recorder();
    const ts = new TrainStep(model, rec, () => 1e-3);
    ts.stepsDone = 4;
    expect(() => ts.step(window())).toThrow(NonFiniteError);
    expect(() => ts.step(window())).toThrow(/optimizer step 5: the loss is not finite/);
    expect(ts.stepsDone).toBe(4);
    const skipping = new TrainStep(model, rec, () => 1e-3, { skipNonFinite: true });
    const before = tf.memory().numTensors;
    const r = skipping.step(window());
    expect(r.skipped).toBe(true);
    expect(Number.isNaN(r.loss)).toBe(true);
    expect(skipping.stepsDone).toBe(1);
    expect(rec.grads).toHaveLength(0);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('evaluate returns the summed loss and count without touching the weights', () => {
    const cfg = tinyConfig();
    const w = randomWeights(cfg, 9);
    const model = LlamaModel.fromWeights(cfg, w);
    const ts = new TrainStep(model, new Recorder(), () => 0);
    const micro = window();
    const r = ts.evaluate(micro);
    const p64 = toFloat64(w);
    const ref = referenceLossSum(cfg, p64, micro[0]).sum + referenceLossSum(cfg, p64, micro[1]).sum;
    expect(r.count).toBe(micro.reduce((a, b) => a + countLossTokens(b), 0));
    expect(Math.abs(r.lossSum - ref)).toBeLessThan(1e-4);
    model.dispose();
  });
});
