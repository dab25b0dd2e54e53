// The chunked head + cross-entropy against the composite crossEntropySum(h·Wᵀ) and against
// float64 finite differences, with chunks of 3 rows (several chunks, a short last one), ignored
// targets, a frozen head, evaluation without a tape; stock cpu kernels and wasm with the native ones.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../backend';
import { normalArray } from '../model/rng';
import { crossEntropySum } from './cross-entropy';
import { chunkRows, headCrossEntropySum } from './head-cross-entropy';
import { linear } from './linear';

const N = 8;
const D = 5;
const V = 7;
const targets = [1, 6, -100, 0, 3, -100, 5, 2];
const hData = normalArray(N * D, 1, 11);
const wData = normalArray(V * D, 0.7, 12);

/** Loss in float64: Σ over non-ignored rows of logsumexp(h_i·Wᵀ) − (h_i·Wᵀ)[t_i]. */
function loss64(h: ArrayLike<number>, w: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    if (targets[i] === -100) continue;
    const z: number[] = [];
    for (let v = 0; v < V; v++) {
      let a = 0;
      for (let d = 0; d < D; d++) a += h[i * D + d] * w[v * D + d];
      z.push(a);
    }
    const m = Math.max(...z);
    sum += Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0)) + m - z[targets[i]];
  }
  return sum;
}

function fd(x: Float64Array, f: () => number): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const o = x[i];
    x[i] = o + 1e-6;
    const a = f();
    x[i] = o - 1e-6;
    const b = f();
    x[i] = o;
    g[i] = (a - b) / 2e-6;
  }
  return g;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void => {
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(tol * (1 + Math.abs(b[i])));
};

afterAll(async () => {
  await shutdownBackend();
});

describe.each(['cpu', 'wasm'] as const)('chunked head cross-entropy on %s', (backend) => {
  beforeAll(async () => {
    await shutdownBackend();
    expect((await initBackend(backend, { threads: 1 })).name).toBe(backend);
  });

  test('value and gradients match the composite and finite differences (3-row chunks)', () => {
    expect(chunkRows(V, 3 * V)).toBe(3);
    const h = tf.tensor2d(hData, [N, D]);
    const w = tf.tensor2d(wData, [V, D]);
    const before = tf.memory().numTensors;
    const g = tf.grads((hh: tf.Tensor, ww: tf.Tensor) => headCrossEntropySum(hh as tf.Tensor2D, ww as tf.Tensor2D, targets, true, 3 * V));
    const [dh, dw] = g([h, w]);
    const read = (f: () => tf.Scalar): number => {
      const t = tf.tidy(f);
      const v = t.dataSync()[0];
      t.dispose();
      return v;
    };
    const value = read(() => headCrossEntropySum(h, w, targets, true, 3 * V));
    const ref = tf.grads((hh: tf.Tensor, ww: tf.Tensor) => crossEntropySum(linear(hh as tf.Tensor2D, ww as tf.Tensor2D), targets));
    const [rh, rw] = ref([h, w]);
    const refValue = read(() => crossEntropySum(linear(h, w), targets));
    expect(Math.abs(value - refValue)).toBeLessThan(1e-5 * Math.abs(refValue));
    close(dh.dataSync(), rh.dataSync(), 1e-5);
    close(dw.dataSync(), rw.dataSync(), 1e-5);
    const h64 = Float64Array.from(hData);
    const w64 = Float64Array.from(wData);
    expect(Math.abs(value - loss64(h64, w64))).toBeLessThan(1e-4);
    close(dh.dataSync(), fd(h64, () => loss64(h64, w64)), 1e-3);
    close(dw.dataSync(), fd(w64, () => loss64(h64, w64)), 1e-3);
    for (const t of [dh, dw, rh, rw]) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    h.dispose();
    w.dispose();
  });

  test('frozen head: only dh; evaluation without a tape gives the same value', () => {
    const h = tf.tensor2d(hData, [N, D]);
    const w = tf.tensor2d(wData, [V, D]);
    const [dh] = tf.grads((hh: tf.Tensor) => headCrossEntropySum(hh as tf.Tensor2D, w, targets, false, 2 * V))([h]);
    const [rh] = tf.grads((hh: tf.Tensor) => crossEntropySum(linear(hh as tf.Tensor2D, w, false), targets))([h]);
    close(dh.dataSync(), rh.dataSync(), 1e-5);
    const ev = tf.tidy(() => headCrossEntropySum(h, w, targets, false, 2 * V));
    const evalValue = ev.dataSync()[0];
    ev.dispose();
    expect(Math.abs(evalValue - loss64(hData, wData))).toBeLessThan(1e-4);
    for (const t of [dh, rh, h, w]) t.dispose();
  });
});
