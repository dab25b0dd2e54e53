import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { paddedBatch, randomWeights, tinyConfig, toFloat64 } from '../src/engine/gradcheck/fixtures';
import { referenceLossSum } from '../src/engine/gradcheck/reference';
import type { MicroBatch } from '../src/engine/batch';
import { LlamaModel } from '../src/engine/model/llama';
import { evaluate } from './EvaluatorActor';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** One row of 5 tokens, all real. */
function oneRow(ids: number[]): MicroBatch {
  return {
    batchSize: 1, seqLen: 5, inputIds: Int32Array.from(ids), attentionMask: Int32Array.from([1, 1, 1, 1, 1]),
    labels: Int32Array.from(ids),
  } as MicroBatch;
}

test('eval_loss over several batches: each batch mean weighted by its rows (HF), not a plain mean of batches', () => {
  const cfg = tinyConfig();
  const w = randomWeights(cfg, 13);
  const model = LlamaModel.fromWeights(cfg, w);
  const batches = [paddedBatch(), oneRow([2, 8, 8, 1, 6])]; // 2 rows, then 1 row
  const means = batches.map((b) => {
    const r = referenceLossSum(cfg, toFloat64(w), b as never);
    return r.sum / r.count;
  });
  const weighted = (means[0] * 2 + means[1] * 1) / 3;
  const plain = (means[0] + means[1]) / 2;
  expect(Math.abs(weighted - plain)).toBeGreaterThan(1e-3); // the fixture tells the two apart
  const m = evaluate(model, batches);
  expect(m.eval_loss).toBeCloseTo(weighted, 4);
  expect(m.eval_perplexity).toBeCloseTo(Math.exp(weighted), 3);
  expect(m.eval_samples_per_second).toBeGreaterThan(0);
  model.dispose();
});
