// The model on the wasm backend (with ptflow's kernels, as training runs it): logits against the
// float64 reference, gradients against finite differences, and a leak-free train step.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../backend';
import { finiteDifferences, worstRatio } from '../gradcheck/finite-diff';
import { packedBatch, paddedBatch, randomWeights, tinyConfig, toFloat64 } from '../gradcheck/fixtures';
import { referenceLogits, referenceLossSum } from '../gradcheck/reference';
import { lossAndGrads } from '../gradcheck/tf-grads';
import { AdamW } from '../optim/adamw';
import { TrainStep } from '../train-step';
import { LlamaModel } from './llama';
import { parameterShapes } from './names';

beforeAll(async () => {
  const info = await initBackend('wasm', { threads: 1 });
  expect(info.name).toBe('wasm');
});

afterAll(async () => {
  await shutdownBackend();
});

test('wasm: logits match the reference; every gradient matches finite differences', () => {
  const cfg = tinyConfig();
  const w = randomWeights(cfg, 21);
  const model = LlamaModel.fromWeights(cfg, w);
  const b = packedBatch();
  const p64 = toFloat64(w);
  const logits = model.forward(b);
  const ref = referenceLogits(cfg, p64, b);
  const got = logits.dataSync();
  for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThan(1e-4);
  logits.dispose();
  const { grads } = lossAndGrads(model, () => model.lossSum(b));
  const names = [...parameterShapes(cfg).keys()];
  const fd = finiteDifferences(p64, names, () => referenceLossSum(cfg, p64, b).sum);
  for (const n of names) {
    const ratio = worstRatio(grads.get(n) as Float32Array, fd.get(n) as Float64Array, 1e-3, 2e-5);
    if (ratio > 1) throw new Error(`wasm gradient of ${n} off by ${ratio}× the tolerance`);
  }
  model.dispose();
});

test('wasm: train steps leave the tensor count flat and match cpu-computed losses to 4 decimals', () => {
  const cfg = tinyConfig();
  const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 2));
  const opt = new AdamW(model.trainableParams());
  const ts = new TrainStep(model, opt, () => 1e-2);
  const p64 = toFloat64(randomWeights(cfg, 2));
  const micro = [paddedBatch(), packedBatch()];
  const a = referenceLossSum(cfg, p64, micro[0]);
  const c = referenceLossSum(cfg, p64, micro[1]);
  const r1 = ts.step(micro);
  expect(r1.loss).toBeCloseTo((a.sum + c.sum) / (a.count + c.count), 4);
  const n1 = tf.memory().numTensors;
  ts.step(micro);
  const r3 = ts.step(micro);
  expect(tf.memory().numTensors).toBe(n1);
  expect(r3.loss).toBeLessThan(r1.loss);
  opt.dispose();
  model.dispose();
});
