import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { finiteDifferences, worstRatio } from '../gradcheck/finite-diff';
import {
  leftPaddedBatch,
  packedBatch,
  paddedBatch,
  randomWeights,
  tinyConfig,
  toFloat64,
} from '../gradcheck/fixtures';
import { referenceLogits, referenceLossSum, type RefLora } from '../gradcheck/reference';
import { lossAndGrads } from '../gradcheck/tf-grads';
import type { MicroBatch } from '../batch';
import { LlamaModel } from './llama';
import { parameterShapes } from './names';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, rows?: number[], V = 0): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (rows && !rows.includes(Math.floor(i / V))) continue;
    m = Math.max(m, Math.abs(a[i] - b[i]));
  }
  return m;
}

describe('LlamaModel forward matches the float64 reference', () => {
  const cases: Array<[string, () => MicroBatch, Record<string, unknown>]> = [
    ['right padding, GQA', paddedBatch, {}],
    ['packed documents', packedBatch, {}],
    ['tied embeddings, 2 kv heads', paddedBatch, { tie_word_embeddings: true, num_key_value_heads: 2 }],
    ['head_dim ≠ hidden/heads', paddedBatch, { head_dim: 6 }],
  ];
  test.each(cases)('%s', (_name, mk, over) => {
    const cfg = tinyConfig(over);
    const w = randomWeights(cfg, 7);
    const model = LlamaModel.fromWeights(cfg, w);
    const b = mk();
    const logits = model.forward(b);
    expect(logits.shape).toEqual([2, 5, 11]);
    const got = logits.dataSync();
    const ref = referenceLogits(cfg, toFloat64(w), b);
    expect(maxAbsDiff(got, ref)).toBeLessThan(2e-5 * Math.max(1, Math.max(...ref.map(Math.abs))));
    logits.dispose();
    model.dispose();
  });

  test("config.json's rope_theta reaches the model (Llama 3 uses 500000; every other case uses 10000)", () => {
    // theta 100 turns the second frequency pair of a 4-wide head 10× faster than theta 10000 does.
    const cfg = tinyConfig({ rope_theta: 100 });
    expect(cfg.ropeTheta).toBe(100);
    const w = randomWeights(cfg, 7);
    const model = LlamaModel.fromWeights(cfg, w);
    const b = paddedBatch();
    const got = model.forward(b).dataSync();
    const ref = referenceLogits(cfg, toFloat64(w), b);
    const scale = Math.max(1, Math.max(...ref.map(Math.abs)));
    expect(maxAbsDiff(got, ref)).toBeLessThan(2e-5 * scale);
    // The same weights under theta 10000 give other logits: the case can tell the two apart.
    const at10k = referenceLogits(tinyConfig(), toFloat64(w), b);
    expect(maxAbsDiff(ref, at10k)).toBeGreaterThan(1e-3 * scale);
    model.dispose();
  });

  test('left padding: rows with a visible key match', () => {
    const cfg = tinyConfig();
    const w = randomWeights(cfg, 3);
    const model = LlamaModel.fromWeights(cfg, w);
    const b = leftPaddedBatch();
    const got = model.forward(b);
    const ref = referenceLogits(cfg, toFloat64(w), b);
    expect(maxAbsDiff(got.dataSync(), ref, [0, 1, 2, 3, 4, 6, 7, 8, 9], 11)).toBeLessThan(1e-4);
    expect(Array.from(got.dataSync()).every(Number.isFinite)).toBe(true);
    got.dispose();
    model.dispose();
  });

  test('segment ids without position ids restart positions per document', () => {
    const cfg = tinyConfig();
    const w = randomWeights(cfg, 5);
    const model = LlamaModel.fromWeights(cfg, w);
    const explicit = packedBatch();
    const implicit = { ...explicit, positionIds: undefined };
    const a = model.forward(explicit);
    const b = model.forward(implicit);
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBe(0);
    // document 2 of row 0 (tokens 1, 9, 4) gives the same logits as the document alone
    const alone = model.forward({ batchSize: 1, seqLen: 3, inputIds: Int32Array.from([1, 9, 4]) });
    expect(maxAbsDiff(a.dataSync().slice(2 * 11, 5 * 11), alone.dataSync())).toBeLessThan(1e-5);
    tf.dispose([a, b, alone]);
    model.dispose();
  });

  test('forward leaves no tensors behind', () => {
    const cfg = tinyConfig();
    const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 1));
    const before = tf.memory().numTensors;
    model.forward(paddedBatch()).dispose();
    tf.tidy(() => {
      model.lossSum(paddedBatch());
    });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('loss equals the reference loss sum', () => {
    const cfg = tinyConfig();
    const w = randomWeights(cfg, 11);
    const model = LlamaModel.fromWeights(cfg, w);
    const b = paddedBatch();
    const got = tf.tidy(() => model.lossSum(b).dataSync()[0]);
    const ref = referenceLossSum(cfg, toFloat64(w), b);
    expect(ref.count).toBe(6); // row 0 predicts 4 tokens, row 1 (two pads) predicts 2
    expect(Math.abs(got - ref.sum)).toBeLessThan(1e-4 * ref.sum);
    model.dispose();
  });
});

describe('gradients match central finite differences of the reference', () => {
  const cases: Array<[string, () => MicroBatch, Record<string, unknown>]> = [
    ['padding', paddedBatch, {}],
    ['segment ids', packedBatch, {}],
    ['tied embeddings', paddedBatch, { tie_word_embeddings: true }],
  ];
  test.each(cases)('every parameter, %s', (_n, mk, over) => {
    const cfg = tinyConfig(over);
    const w = randomWeights(cfg, 21);
    const model = LlamaModel.fromWeights(cfg, w);
    const b = mk();
    const { loss, grads } = lossAndGrads(model, () => model.lossSum(b));
    const p64 = toFloat64(w);
    const names = [...parameterShapes(cfg).keys()];
    expect([...grads.keys()].sort()).toEqual([...names].sort());
    const fd = finiteDifferences(p64, names, () => referenceLossSum(cfg, p64, b).sum);
    expect(Math.abs(loss - referenceLossSum(cfg, p64, b).sum)).toBeLessThan(1e-4);
    for (const n of names) {
      const ratio = worstRatio(grads.get(n) as Float32Array, fd.get(n) as Float64Array, 1e-3, 2e-5);
      if (ratio > 1) throw new Error(`gradient of ${n} off by ${ratio}× the tolerance`);
    }
    model.dispose();
  });

  test('every LoRA A and B (all targets, non-zero B)', () => {
    const cfg = tinyConfig();
    const w = randomWeights(cfg, 4);
    const model = LlamaModel.fromWeights(cfg, w);
    model.setFinetuning({ finetuningType: 'lora', rank: 2, alpha: 3, target: 'all', seed: 9 });
    const lora = model.lora;
    if (!lora) throw new Error('no adapters');
    // make B non-zero so both A's and B's gradients are informative
    let k = 0;
    for (const [n, v] of lora.params) {
      if (!n.endsWith('lora_B.weight')) continue;
      const phase = k++;
      v.assign(tf.tidy(() => tf.mul(tf.reshape(tf.sin(tf.add(tf.range(0, v.size), phase)), v.shape), 0.3)));
    }
    const b = packedBatch();
    const { grads } = lossAndGrads(model, () => model.lossSum(b));
    expect([...grads.keys()].sort()).toEqual([...lora.params.keys()].sort());
    const p64 = toFloat64(w);
    const l64 = new Map<string, Float64Array>();
    for (const [n, v] of lora.params) l64.set(n, Float64Array.from(v.dataSync()));
    const ref: RefLora = { scaling: 1.5, rank: 2, params: l64 };
    const fd = finiteDifferences(l64, l64.keys(), () => referenceLossSum(cfg, p64, b, ref).sum);
    for (const n of l64.keys()) {
      const ratio = worstRatio(grads.get(n) as Float32Array, fd.get(n) as Float64Array, 1e-3, 2e-5);
      if (ratio > 1) throw new Error(`gradient of ${n} off by ${ratio}× the tolerance`);
    }
    model.dispose();
  });
});
