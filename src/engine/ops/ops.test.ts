import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { attention } from './attention';
import { additiveMaskRow, MASKED } from './attention-mask';
import { crossEntropySum } from './cross-entropy';
import { embed } from './embedding';
import { linear } from './linear';
import { mm } from './matmul';
import { rmsNorm } from './rmsnorm';
import { applyRope, ropeTables } from './rope';
import { siluMul } from './swiglu';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const close = (a: number[], b: number[], tol = 1e-5): void => {
  expect(a).toHaveLength(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(tol));
};

test('linear: y = x·Wᵀ, dX = dY·W, dW = dYᵀ·x (hand-computed)', () => {
  const x = tf.tensor2d([[1, 2]]);
  const w = tf.tensor2d([
    [3, 4],
    [5, 6],
  ]);
  close(arr(linear(x, w)), [11, 17]);
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(linear(a as tf.Tensor2D, b as tf.Tensor2D)))([x, w]);
  close(arr(dx), [8, 10]);
  close(arr(dw), [1, 2, 1, 2]);
  const dxFrozen = tf.grad((a: tf.Tensor) => tf.sum(linear(a as tf.Tensor2D, w, false)))(x);
  close(arr(dxFrozen), [8, 10]);
});

test('mm: plain product and both gradients (hand-computed)', () => {
  const a = tf.tensor2d([[1, 2]]); // [1, 2]
  const b = tf.tensor2d([[3], [4]]); // [2, 1]
  close(arr(mm(a, b)), [11]);
  const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(mm(p as tf.Tensor2D, q as tf.Tensor2D), 2)))([a, b]);
  close(arr(da), [6, 8]);
  close(arr(db), [2, 4]);
});

test('rmsNorm: x·rsqrt(mean(x²)+eps)·w and its gradient, with an eps that matters', () => {
  const x = tf.tensor2d([[3, 4]]);
  const w = tf.tensor1d([1, 2]);
  const eps = 0.5; // mean(x²) = 12.5: eps moves r from 1/√12.5 to 1/√13 (an eps of 0 would hide a dropped eps)
  const r = 1 / Math.sqrt(12.5 + eps);
  close(arr(rmsNorm(x, w, eps)), [3 * r, 8 * r]);
  // d/dx of Σ y: dx_j = r·w_j − x_j·r³·mean(w·x) (eps only enters through r)
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(rmsNorm(a as tf.Tensor2D, b as tf.Tensor1D, eps)))([x, w]);
  const m = (3 + 8) / 2;
  close(arr(dx), [r * 1 - 3 * r ** 3 * m, r * 2 - 4 * r ** 3 * m]);
  close(arr(dw), [3 * r, 4 * r]);
  const dxFrozen = tf.grad((a: tf.Tensor) => tf.sum(rmsNorm(a as tf.Tensor2D, w, eps, false)))(x);
  close(arr(dxFrozen), arr(dx));
});

test('RoPE: HF rotate-half at positions 0 and 1, gradient is the transposed rotation', () => {
  const { cos, sin } = ropeTables([0, 1], 4, 10000); // inv_freq = [1, 0.01]
  const x = tf.tensor3d([1, 2, 3, 4, 1, 2, 3, 4], [2, 1, 4]);
  const y = arr(applyRope(x, cos, sin));
  const [c1, s1, c2, s2] = [Math.cos(1), Math.sin(1), Math.cos(0.01), Math.sin(0.01)];
  close(y, [1, 2, 3, 4, 1 * c1 - 3 * s1, 2 * c2 - 4 * s2, 3 * c1 + 1 * s1, 4 * c2 + 2 * s2]);
  const g = tf.tensor3d([0, 0, 0, 0, 1, 0, 0, 0], [2, 1, 4]);
  const dx = arr(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(applyRope(a as tf.Tensor3D, cos, sin), g)))(x));
  // ∂y₀/∂x at position 1: y₀ = x₀ cos1 − x₂ sin1
  close(dx, [0, 0, 0, 0, c1, 0, -s1, 0]);
});

test('attention masks: causal, padding and segments', () => {
  const m = additiveMaskRow(
    { batchSize: 1, seqLen: 3, attentionMask: [1, 1, 0], segmentIds: [0, 1, 1] },
    0,
  );
  const M = MASKED;
  expect(Array.from(m)).toEqual([0, M, M, M, 0, M, M, 0, M]);
});

test('attention: softmax(q·kᵀ/√d + mask)·v by hand; GQA shares the kv head', () => {
  // headDim 2, so that 1/√d (0.707) differs from 1/d (0.5) and from 1; rows are [h0d0, h0d1, h1d0, h1d1].
  const shape = { batchSize: 1, seqLen: 2, heads: 2, kvHeads: 1, headDim: 2 };
  const q = tf.tensor2d([1, 0, 0, 1, 2, 3, -1, 1], [2, 4]);
  const k = tf.tensor2d([1, 0, 0, 2], [2, 2]); // one kv head: k0 = [1, 0], k1 = [0, 2]
  const v = tf.tensor2d([10, 1, 20, 3], [2, 2]); // v0 = [10, 1], v1 = [20, 3]
  const causal = [tf.tensor2d(additiveMaskRow({ batchSize: 1, seqLen: 2, attentionMask: [1, 1] }, 0), [2, 2])];
  const out = arr(attention(q, k, v, causal, shape)); // [T, H·d]
  const s = 1 / Math.sqrt(2);
  const w1 = (a: number, b: number): number => Math.exp(b * s) / (Math.exp(a * s) + Math.exp(b * s)); // weight of k1
  const p0 = w1(2, 6); // head 0, row 1: q·k = [2, 6]
  const p1 = w1(-1, 2); // head 1, row 1: q·k = [-1, 2]
  const mix = (p: number): number[] => [10 * (1 - p) + 20 * p, 1 * (1 - p) + 3 * p];
  close(out, [10, 1, 10, 1, ...mix(p0), ...mix(p1)], 1e-4);
  const seg = [tf.tensor2d(additiveMaskRow({ batchSize: 1, seqLen: 2, attentionMask: [1, 1], segmentIds: [0, 1] }, 0), [2, 2])];
  close(arr(attention(q, k, v, seg, shape)), [10, 1, 10, 1, 20, 3, 20, 3], 1e-4);
});

test('siluMul: value and gradients by hand', () => {
  const g = tf.tensor2d([[0, 1]]);
  const u = tf.tensor2d([[3, 2]]);
  const s1 = 1 / (1 + Math.exp(-1));
  close(arr(siluMul(g, u)), [0, 2 * s1]);
  const [dg, du] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(siluMul(a as tf.Tensor2D, b as tf.Tensor2D)))([g, u]);
  close(arr(dg), [3 * 0.5, 2 * s1 * (1 + (1 - s1))]);
  close(arr(du), [0, s1]);
});

test('embedding: gathers rows; repeated ids accumulate gradient', () => {
  const table = tf.tensor2d([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  const ids = tf.tensor1d([1, 1, 0], 'int32');
  close(arr(embed(table, ids)), [3, 4, 3, 4, 1, 2]);
  const d = tf.grad((t: tf.Tensor) => tf.sum(embed(t as tf.Tensor2D, ids)))(table);
  close(arr(d), [1, 1, 2, 2, 0, 0]);
});

test('crossEntropySum: hand-computed value and softmax − one-hot gradient, −100 ignored', () => {
  const z = tf.tensor2d([
    [0, Math.log(3)],
    [1, 1],
    [5, -5],
  ]);
  const targets = [1, 0, -100];
  close(arr(crossEntropySum(z, targets)), [Math.log(4 / 3) + Math.log(2)]);
  const d = arr(tf.grad((a: tf.Tensor) => tf.mul(crossEntropySum(a as tf.Tensor2D, targets), 2))(z));
  close(d, [0.5, -0.5, -1, 1, 0, 0]);
  close(arr(crossEntropySum(z, [-100, -100, -100])), [0]);
  // large logits stay finite (log-sum-exp with the max subtracted)
  close(arr(crossEntropySum(tf.tensor2d([[1000, 0]]), [1])), [1000], 1e-3);
});

test('ops release their intermediates', () => {
  const x = tf.randomNormal([4, 8]) as tf.Tensor2D;
  const w = tf.randomNormal([6, 8]) as tf.Tensor2D;
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(linear(a as tf.Tensor2D, b as tf.Tensor2D)))([x, w]);
  });
  expect(tf.memory().numTensors).toBe(before);
});

test('linear: dW is the same whichever side is transposed (lm_head shape)', () => {
  const x = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
  const w = tf.randomNormal([40, 3], 0, 1, 'float32', 2) as tf.Tensor2D; // out ≫ in
  const g = tf.randomNormal([5, 40], 0, 1, 'float32', 3) as tf.Tensor2D;
  const dw = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(linear(x, t as tf.Tensor2D), g)))(w);
  // by hand: dW[o][i] = Σ_n g[n][o]·x[n][i]
  const xs = x.arraySync();
  const gs = g.arraySync();
  const want: number[] = [];
  for (let o = 0; o < 40; o++) for (let i = 0; i < 3; i++) want.push(xs.reduce((s, row, n) => s + gs[n][o] * row[i], 0));
  close(arr(dw), want, 1e-4);
});
