import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend } from './internals';
import { initWasm, shutdownWasm } from './init';

const [N, K, H, O] = [67, 129, 95, 33];
const X = Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.37));
const W1 = Array.from({ length: K * H }, (_, i) => Math.cos(i * 0.11) * 0.1);
const W2 = Array.from({ length: H * O }, (_, i) => Math.sin(i * 0.07) * 0.1);

// A small matmul chain, loss = mean((relu(x·w1)·w2)²), with its gradient for w1 written out.
function chainLoss(): { loss: number; grad: number[] } {
  return tf.tidy(() => {
    const x = tf.tensor2d(X, [N, K]);
    const w1 = tf.tensor2d(W1, [K, H]);
    const w2 = tf.tensor2d(W2, [H, O]);
    const h = tf.matMul(x, w1);
    const a = tf.relu(h);
    const y = tf.matMul(a, w2);
    const loss = tf.mean(tf.square(y));
    const dy = tf.mul(y, 2 / (N * O));
    const dh = tf.mul(tf.matMul(dy, tf.transpose(w2)), tf.cast(tf.greater(h, 0), 'float32'));
    const dw1 = tf.matMul(tf.transpose(x), dh);
    return { loss: loss.dataSync()[0], grad: Array.from(dw1.dataSync()) };
  });
}

// The same loss in float64, loops only.
function chainLoss64(): number {
  let total = 0;
  const h = new Float64Array(H);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < H; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += X[n * K + k] * W1[k * H + j];
      h[j] = Math.max(0, s);
    }
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let j = 0; j < H; j++) s += h[j] * W2[j * O + o];
      total += s * s;
    }
  }
  return total / (N * O);
}

describe('initWasm', () => {
  afterEach(() => shutdownWasm());

  test('threaded build runs 2 threads, keeps process listeners, and matches 1 thread exactly', async () => {
    const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
    const two = await initWasm({ threads: 2 });
    expect(two).toMatchObject({ threads: 2, threaded: true, simd: true });
    expect(tf.getBackend()).toBe('wasm');
    expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual(before);
    // Only the worker the pool uses is kept (the glue pre-spawns 8).
    const pthread = asWasmBackend(tf.backend()).wasm.PThread!;
    expect(pthread.unusedWorkers.length).toBe(0);
    expect(pthread.runningWorkers.length).toBe(1);
    const r2 = chainLoss();
    shutdownWasm();

    const one = await initWasm({ threads: 1 });
    expect(one).toMatchObject({ threads: 1, threaded: false });
    const r1 = chainLoss();
    expect(r2.loss).toBe(r1.loss);
    expect(r2.grad).toEqual(r1.grad);
    // And right, not just equal: float64 loops give the same loss to float32 precision.
    expect(Math.abs(r1.loss - chainLoss64()) / chainLoss64()).toBeLessThan(1e-5);
  });

  test('more threads than the build supports are capped with a note', async () => {
    const r = await initWasm({ threads: 64 });
    expect(r.threads).toBeLessThanOrEqual(8);
    expect(r.notes.join('\n')).toMatch(/at most 8/);
  });
});
