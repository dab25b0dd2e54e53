import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { causalLmLossSum, shiftedTargets } from './loss';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('targets are the labels shifted left by one; −100 and the last position ignored', () => {
  const t = shiftedTargets({ batchSize: 2, seqLen: 3, labels: Int32Array.from([5, 6, -100, 1, 2, 3]) }, 10);
  expect(Array.from(t)).toEqual([6, -100, -100, 2, 3, -100]);
});

test('a label outside the vocabulary names the tensor, row and column', () => {
  expect(() => shiftedTargets({ batchSize: 1, seqLen: 3, labels: Int32Array.from([1, 2, 12]) }, 10)).toThrow(
    /"labels": value 12 at row 0, column 2 is outside the vocabulary \[0, 10\)/,
  );
});

test('causal LM loss sum by hand', () => {
  // row 0 predicts label 1 from logits [0, ln 3] → ln(4/3); row 1 predicts nothing (last position)
  const logits = tf.tensor2d([
    [0, Math.log(3)],
    [7, -7],
  ]);
  const s = causalLmLossSum(logits, { batchSize: 1, seqLen: 2, labels: Int32Array.from([0, 1]) });
  expect(s.dataSync()[0]).toBeCloseTo(Math.log(4 / 3), 6);
});
